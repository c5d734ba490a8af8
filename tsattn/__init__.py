"""tsattn: time-series forecasting with attention models and honest baselines."""

__version__ = "0.1.0.dev0"
