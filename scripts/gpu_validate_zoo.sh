#!/usr/bin/env bash
# Run `augur validate --processor gpu` over zoo networks on the machine's CUDA GPU, one fresh
# process per case (so each sees the cuBLAS workspaces and the allocator as a user's run
# would), and gather the JSON reports into one JSON-lines file.
#   scripts/gpu_validate_zoo.sh OUT.jsonl SPEC BUDGET_S NET...
# Stops starting new cases after BUDGET_S seconds; the file holds what finished.
set -u
out=$1; spec=$2; budget=$3; shift 3
py=${PYTHON:-python3}
start=$(date +%s)
: > "$out"
for cfg in "1 fp32" "16 fp16"; do
  set -- "$@"
  for rt in pytorch-cudagraph pytorch-eager; do
    for net in "$@"; do
      if [ $(( $(date +%s) - start )) -gt "$budget" ]; then echo "budget reached" >&2; exit 0; fi
      read -r b p <<< "$cfg"
      tmp=$(mktemp)
      if $py -m augur_sim.cli validate "$net" --hw "$spec" --processor gpu --runtime "$rt" \
           --batch "$b" --precision "$p" --runs 20 --format json --out "$tmp" 2> "$tmp.err"; then
        cat "$tmp" | tr -d '\n' >> "$out"; echo >> "$out"
        echo "ok $net $rt b$b $p" >&2
      else
        echo "{\"net\": \"$net\", \"runtime\": \"$rt\", \"batch\": $b, \"precision\": \"$p\", \"error\": \"$(tr -d '"\n' < "$tmp.err" | cut -c1-300)\"}" >> "$out"
        echo "FAILED $net $rt b$b $p: $(cat "$tmp.err")" >&2
      fi
      rm -f "$tmp" "$tmp.err"
    done
  done
done
