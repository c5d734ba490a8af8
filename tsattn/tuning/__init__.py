"""Hyperparameter search with Optuna: every trial is a rolling-origin backtest of the data given.

:func:`tune` draws parameters with an Optuna sampler, scores each draw with
:func:`tsattn.backtest` (``n_windows`` forecast origins at the **end** of ``df``) and keeps the
best. Networks report their validation loss after every epoch so that Optuna's pruner can stop
poor trials early.

.. warning::
   Model selection sees only ``df``, and its last ``n_windows`` windows are what every trial is
   scored on. Keep your own test period **out of** ``df`` (e.g. ``tune(model, train_df, ...)``,
   then evaluate ``result.best_estimator_`` on the later data): a score of the tuned model on
   data that chose it is optimistic.

Storage
-------
Trials live in an Optuna storage so that a study can be resumed and shared by several workers
(processes or machines running ``tune`` with the same ``storage`` and ``study_name``):

* ``storage=None``: the SQLite file ``tsattn_tuning.db`` in the working folder.
* A SQLAlchemy URL (``sqlite:///x.db``, ``postgresql+psycopg://user@host/db``, ``mysql+...``):
  an ``RDBStorage`` with a heartbeat. A worker that dies leaves its trial RUNNING; the next
  worker to start or continue the study marks it FAIL, reason ``worker died (no heartbeat)``,
  once it has had no heartbeat for ``2 * heartbeat_interval`` seconds. Workers that create a
  new database at the same moment retry until one of them has made Optuna's tables.
* A path ending in ``.log`` or ``.jsonl``, or ``journal:PATH``:
  ``JournalStorage(JournalFileBackend(PATH))``, with **no heartbeat** (Optuna 5.0's journal
  storage does not implement one): the trial of a killed worker stays RUNNING and counts
  towards ``n_trials``, and ``tune`` warns when it finds such trials. Use an RDB storage for
  workers that may die.

``n_trials`` is the total of the study, shared by all its workers and counted over trials in any
state (complete, pruned, failed, running): a rerun with the same storage and ``study_name``
continues up to it (and runs nothing when the study already has that many); trial numbers are
``0 .. n_trials - 1``. Each worker stops when the study holds ``n_trials`` trials (Optuna's
``MaxTrialsCallback(n_trials, states=None)``, checked after each trial), and a trial whose number
is ``n_trials`` or more (two workers asking at the same instant) is not run: it ends PRUNED with
reason ``skipped: ...``. ``timeout`` is per worker.

The default sampler is ``TPESampler(seed=random_state + number of trials already in the study)``:
a fresh single-worker study is reproducible, and a resumed one does not replay its first draws.
Workers started at the same moment see the same count, so give each its own ``random_state``
(e.g. ``seed + worker index``) or ``random_state=None``.

Default search spaces
---------------------
``season`` is the natural season of the data's frequency
(:func:`tsattn.data.timestamps.season_length`: hourly 24, daily 7, monthly 12, ...); ``base`` is
the season, or the horizon when the data have none (integer time). Lookbacks are those of
``base * {1, 2, 4, 7}`` (networks: ``{1, 2, 4, 7, 14, 21, 30}`` and the estimator's default lookback)
that leave a training window in every series before the first backtest origin. A parameter
fixed by the instance passed to ``tune`` is left out.

================  ===============================================================================
model             parameters searched
================  ===============================================================================
lstm,             ``learning_rate`` log-uniform 1e-4..1e-2, ``batch_size`` {64, 128, 256},
attention_lstm,   ``lookback`` (above), ``dropout`` uniform 0..0.3, ``hidden_size``
transformer       {32, 64, 128, 256}, ``num_layers`` 1..3, ``segment_length``
                  {base/2, base, 2 base, the network's default} (at most the lookback);
                  attention_lstm: ``attention`` {general, dot} (additive per step: a
                  B x H x L x D tensor); transformer: ``n_heads`` {1, 2, 4, 8} (its
                  ``stride`` follows: half a segment)
linear            ``learning_rate``, ``batch_size``, ``lookback``, ``dropout`` as above;
                  ``kernel_size`` {5, 13, 25, 49}
ets               ``trend`` {add, None}, ``damped_trend`` {True, False}, ``seasonal``
                  {add, None} (with a season)
arima             ``order`` = (``p`` 0..2, ``d`` 0..1, ``q`` 0..2); with a season
                  ``seasonal_order`` = (``seasonal_p``, ``seasonal_d``, ``seasonal_q``) 0..1 each
theta             ``season_length`` {1, season} and ``method`` {additive, multiplicative} (with a
                  season), ``lookback`` {None, 4 base, 8 base}
seasonal_naive    ``season_length`` {1, season, 2 season} ({1, 2, 4, 7, 12, 24} without a season)
mean, drift       ``lookback`` {None} and the lookbacks above
naive             nothing (every trial is the same forecast)
================  ===============================================================================

The first trial of a new study is the model's own settings (the estimator's values; for
network sizes left at None and for network options, the network's defaults) when every
searched parameter's default is a point of the space: a study never ends worse on its windows
than not tuning (``start_from_defaults=False`` to leave it out). The default spaces of the
networks hold their defaults, unless the series are too short for the default lookback.
Networks train for at most ``max_epochs=20`` per trial (early stopping as
usual) unless the instance sets ``max_epochs``. ``loss`` is not searched by default: the pruner compares
validation losses across trials, which is meaningless between different loss functions.

A ``search_space`` can also be a dict ``{parameter: spec}`` (spec: an Optuna
``FloatDistribution`` / ``IntDistribution`` / ``CategoricalDistribution``, a list of choices,
or a range ``(low, high)`` / ``(low, high, "log")``) or a callable ``trial -> dict`` of estimator
parameters. Network options (``segment_length``, ``attention``, ``n_heads``, ``kernel_size``,
...) are named directly; they go into ``model_options``.

Progress
--------
With ``verbose >= 1`` each finished trial logs one line to the ``tsattn.tuning`` logger at INFO
(a stderr handler is added for the run when logging is not configured), e.g.::

    trial 3 (4/20): mase 0.8123; best 0.7011 (trial 1)
    trial 4 (5/20): pruned at epoch 2: val_loss 0.5312 (MedianPruner); best 0.7011 (trial 1)
"""

from __future__ import annotations

from tsattn.tuning.plan import TUNING_MAX_EPOCHS, TUNING_METRICS
from tsattn.tuning.plots import save_plots
from tsattn.tuning.result import TuneResult, trials_frame
from tsattn.tuning.search import tune
from tsattn.tuning.spaces import NETWORK_MULTIPLES, SearchSpace, default_search_space
from tsattn.tuning.storage import DEFAULT_STORAGE, WORKER_DIED, make_storage

__all__ = [
    "DEFAULT_STORAGE",
    "NETWORK_MULTIPLES",
    "TUNING_MAX_EPOCHS",
    "TUNING_METRICS",
    "WORKER_DIED",
    "SearchSpace",
    "TuneResult",
    "default_search_space",
    "make_storage",
    "save_plots",
    "trials_frame",
    "tune",
]
