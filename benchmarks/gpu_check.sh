#!/usr/bin/env bash
# One prepared check for a lent GPU machine (about 9 minutes), run from the repository root:
#
#     TSATTN_DATA=../shared/data OUT=gpu_out bash benchmarks/gpu_check.sh
#
# 1. the machine (GPU, torch, pandas);
# 2. training throughput on a quiet GPU, fp32 and bf16 (benchmarks/throughput.py);
# 3. at once, sharing the GPU: the CUDA tests of tests/test_neural.py; the ETTh1 L=H=96
#    protocol with bf16 autocast (benchmarks/long_horizon.py); 20-trial Optuna studies of
#    lstm, attention_lstm and transformer with and without pruning (benchmarks/tuning.py).
#    Their seconds are shared-GPU seconds; the studies' cost is compared in epochs trained.
# Every step has its own time limit (STUDY_SECONDS for the studies), so the script always ends
# by packing the logs into $OUT/logs.tar.gz and printing a summary.
set -u
OUT=${OUT:-gpu_out}
DATA=${TSATTN_DATA:-../shared/data}
CSV=$DATA/ett/ETTh1.csv
STUDY_SECONDS=${STUDY_SECONDS:-300}
DEVICE=${DEVICE:-cuda}  # DEVICE=cpu MAX_EPOCHS=1 STUDY_SECONDS=10: a dry run of this script
MAX_EPOCHS=${MAX_EPOCHS:-10}
LOGS=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    $PY -c "import torch, pandas, numpy, optuna; print('torch', torch.__version__, 'pandas', pandas.__version__, 'numpy', numpy.__version__, 'optuna', optuna.__version__, torch.cuda.get_device_name())"
    nproc
} >"$LOGS/env.txt" 2>&1

for precision in fp32 bf16; do
    timeout 100 $PY benchmarks/throughput.py --csv "$CSV" --device "$DEVICE" --precision $precision \
        --steps 100 --repeats 2 >>"$LOGS/throughput.txt" 2>&1
done

timeout 200 $PY -m pytest -q -p no:cacheprovider tests/test_neural.py >"$LOGS/pytest.txt" 2>&1 &
timeout $((STUDY_SECONDS + 120)) $PY benchmarks/long_horizon.py --csv "$CSV" --split ett \
    --max-epochs "$MAX_EPOCHS" --verbose 0 --threads 2 --json "$LOGS/long_horizon.json" >"$LOGS/long_horizon.txt" 2>&1 &
for model in attention_lstm transformer lstm; do
    for pruning in on off; do
        timeout $((STUDY_SECONDS + 120)) $PY benchmarks/tuning.py --csv "$CSV" --models $model \
            --pruning $pruning --trials 20 --max-epochs "$MAX_EPOCHS" --threads 2 --device "$DEVICE" \
            --timeout "$STUDY_SECONDS" --json "$LOGS/tune_${model}_$pruning.json" \
            >"$LOGS/tune_${model}_$pruning.txt" 2>&1 &
    done
done
wait

tar -czf "$OUT/logs.tar.gz" -C "$LOGS" .
cat "$LOGS/env.txt" "$LOGS/throughput.txt"
tail -3 "$LOGS/pytest.txt"
tail -8 "$LOGS/long_horizon.txt"
for f in "$LOGS"/tune_*.txt; do
    echo "== $(basename "$f")"
    grep -v "^  " "$f" | tail -4
    grep -c "^  " "$f"
done
