#!/usr/bin/env bash
# Reproduces the demo avatar shipped in assets/demo-avatar and its evaluation report in docs/:
#   1. the demo dataset (synthetic identity seed:7, 128 px, two in-between pairs per category, one held-out camera);
#   2. PERSE training with the compact config (stage 1 + stage 2), about 23 minutes on two cores;
#   3. the stage-2 ablation: the same run's stage-1 checkpoint trained on without stage 2;
#   4. the evaluation of both (docs/evaluation.md), and the bundle copied into assets/demo-avatar.
# Every step resumes where it stopped when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=data/datasets/demo128
npm run synth -- --identity seed:7 --per-category 6 --frames 60 --size 128 --inbetween 2 --extra-cameras 1 --out "$DATA"
npm run train -- --dataset "$DATA" --config compact --out data/avatars/demo
npm run train -- --dataset "$DATA" --config compact --out data/avatars/demo-no-stage2 --no-stage2 --init-from data/avatars/demo/checkpoint-stage1.bin
npm run evaluate -- --avatar data/avatars/demo --baseline data/avatars/demo-no-stage2 --dataset "$DATA" --out data/reports/demo
rm -rf assets/demo-avatar
cp -r data/avatars/demo/bundle assets/demo-avatar
cp data/avatars/demo/loss-curve.png docs/images/demo-loss-curve.png
cp data/reports/demo/evaluation-sheet.png docs/images/demo-evaluation-sheet.png
cp data/reports/demo/evaluation.json docs/demo-evaluation.json
