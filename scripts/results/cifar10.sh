#!/usr/bin/env bash
# The CIFAR-10 experiments of docs/results/cifar10 (issue #16), run from the
# repository root on the JPEG export of CIFAR-10 in ../shared/data; run
# folders go to ../runs/cifar10/<name>. A run that stopped (a session ended)
# continues exactly where its last checkpoint was with the same command:
# an existing run folder is resumed.
#   scripts/results/cifar10.sh resnet20            # experiment 1
#   scripts/results/cifar10.sh resnet20-64k        # experiment 1 at the paper's full length
#   scripts/results/cifar10.sh degradation         # Figure 6's four nets
#   scripts/results/cifar10.sh degradation-12k [NET...]  # Figure 6 twice as long (NET: plain20 resnet56 …)
#   scripts/results/cifar10.sh publish             # the small files into docs/results/cifar10
#   scripts/results/cifar10.sh save NAME...        # a stopped run's resume point, to commit
# ../runs is not kept from one machine to the next: a run that must go on in
# a later session (on a fresh clone) is stopped, saved with `save` and
# committed; the next `train` of that run starts from the saved resume point
# (its run.json, metrics and last checkpoint in runs-in-progress/cifar10/<name>),
# and `publish` deletes the resume point once the run has completed.
set -euo pipefail
data=../shared/data/cifar10-jpeg/train
runs=../runs/cifar10
saved=runs-in-progress/cifar10
convnets() { nice -n 15 node packages/cli/bin/convnets.js "$@"; }
# The paper's recipe (§4.2): SGD momentum 0.9, weight decay 1e-4, batch 128,
# lr 0.1 ÷ 10 twice, pad-crop-flip, per-pixel mean; the 45k/5k split.
recipe=(--data "$data" --holdout 500 --pixel-mean --lr 0.1 --momentum 0.9 --weight-decay 1e-4
  --batch-size 128 --seed 0 --backend native --checkpoint-every 1000 --keep 2
  --schedule multistep --milestone-unit iteration)

train() { # name arch steps milestones
  local out="$runs/$1"
  if [[ ! -f "$out/run.json" && -f "$saved/$1/run.json" ]]; then
    mkdir -p "$out" && cp -R "$saved/$1/." "$out/"
  fi
  if [[ -f "$out/run.json" ]]; then convnets train --resume "$out"
  else convnets train --arch "$2" "${recipe[@]}" --steps "$3" --milestones "$4" --out "$out"; fi
}

case "${1:-}" in
  # The paper's 64k iterations (÷10 at 32k, 48k), shortened to 40k for 2 CPU cores, milestones in proportion.
  resnet20) train resnet20 cifar_resnet20 40000 20000,30000 ;;
  # The paper's own schedule: 64k iterations (182 epochs), ÷10 at 32k and 48k.
  resnet20-64k) train resnet20-64k cifar_resnet20 64000 32000,48000 ;;
  # Figure 6 at a shorter schedule (6k iterations, ÷10 at 3k and 4.5k): the same recipe and seed for all four.
  degradation)
    for net in plain20 plain56 resnet20 resnet56; do
      train "degradation-$net" "cifar_${net}" 6000 3000,4500
    done ;;
  # Figure 6 twice as long (12k iterations, ÷10 at 6k and 9k): at 6k ResNet-56 still trained slower than
  # ResNet-20. Names the nets to run (default all four), so that two can run side by side.
  degradation-12k)
    shift
    nets=("$@")
    ((${#nets[@]})) || nets=(resnet56 resnet20 plain20 plain56)
    for net in "${nets[@]}"; do train "degradation-12k-$net" "cifar_${net}" 12000 6000,9000; done ;;
  publish)
    # Experiment 1's result is docs/results/cifar10/resnet20 with its final checkpoint (what
    # `convnets eval --weights docs/results/cifar10/resnet20` reads): the run folder named in
    # $experiment1. Each other run is published under its own folder name unless $as maps it
    # to another: the 64k run (the paper's schedule) holds that place, the 40k run is kept as
    # resnet20-40k.
    experiment1=resnet20-64k
    declare -A as=([resnet20]=resnet20-40k)
    as[$experiment1]=resnet20
    for dir in "$runs"/*/; do
      [[ -f $dir/run.json ]] || continue # not a run folder
      name=$(basename "$dir")
      extra=()
      [[ $name == "$experiment1" ]] && extra=(--checkpoint)
      dest=docs/results/cifar10/${as[$name]:-$name}
      node scripts/results/publish-run.mjs "$dir" "$dest" "${extra[@]}"
      if [[ -d $saved/$name ]] && grep -q '"status": "completed"' "$dest/summary.json"; then
        rm -r "${saved:?}/$name" && echo "deleted $saved/$name: the run has completed"
      fi
    done
    # One figure per Figure-6 schedule, of the nets published so far: the page's generator
    # says which (a line per figure: its file, then its run folders).
    node docs/scripts/cifar10-results.mjs --figures | while read -r figure folders; do
      # shellcheck disable=SC2086 # the folders are words
      node packages/cli/bin/convnets.js plot $folders --out "$figure"
    done
    node docs/scripts/cifar10-results.mjs ;; # the page shows the figures once they exist
  save)
    shift
    for name; do
      checkpoint=$(node --input-type=module -e "
        import { latestCheckpoint } from '@convnets/trainer';
        console.log((await latestCheckpoint(process.argv[1])) ?? '')" "$runs/$name")
      [[ -n $checkpoint ]] || { echo "$runs/$name has no checkpoint to resume from" >&2; exit 1; }
      rm -rf "${saved:?}/$name" && mkdir -p "$saved/$name/checkpoints"
      cp "$runs/$name"/{run.json,metrics.jsonl,metrics.csv} "$saved/$name/"
      cp -R "$checkpoint" "$saved/$name/checkpoints/"
      echo "saved $runs/$name at $(basename "$checkpoint") into $saved/$name ($(du -sh "$saved/$name" | cut -f1))"
    done ;;
  *) echo "usage: $0 resnet20 | resnet20-64k | degradation | degradation-12k [NET...] | publish | save NAME..." >&2; exit 2 ;;
esac
