#!/usr/bin/env bash
# Submits a sharded `dagmm sweep` as a Slurm array and a `dagmm report` job that runs after it:
#
#   scripts/slurm/submit.sh EXPERIMENT OUT TASKS [extra sbatch options...]
#   scripts/slurm/submit.sh experiments/ablation_kddcup.toml results/ablation_kddcup 8 --partition=cpu --time=12:00:00
#
# TASKS array tasks (1-TASKS) each run `dagmm sweep EXPERIMENT --out OUT --shard I/TASKS`; the
# report job waits for them with --dependency=afterok (set DAGMM_REPORT_AFTER=afterany to report
# whatever finished even when a task failed). The extra options go to both sbatch calls, after
# the scripts' defaults, so they override them. Slurm's logs go to OUT/slurm-logs/. The binary
# is $DAGMM_BIN, else `dagmm` on PATH (resolved here to an absolute path, which the compute nodes
# must see too); DAGMM_DATA_DIR, when set, reaches the jobs as an absolute path.
#
# Prints the two job ids on standard output as `sweep_job=ID` and `report_job=ID`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "$#" -lt 3 ]; then
  echo "usage: $0 EXPERIMENT OUT TASKS [extra sbatch options...]" >&2
  exit 2
fi
experiment=$1
out=$2
tasks=$3
shift 3

if [ ! -f "$experiment" ]; then
  echo "error: no experiment file $experiment" >&2
  exit 2
fi
if ! [[ "$tasks" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: TASKS must be a positive number, not '$tasks'" >&2
  exit 2
fi
case "${DAGMM_REPORT_AFTER:=afterok}" in
  afterok | afterany) ;;
  *)
    echo "error: DAGMM_REPORT_AFTER must be afterok or afterany, not '$DAGMM_REPORT_AFTER'" >&2
    exit 2
    ;;
esac

bin=${DAGMM_BIN:-$(command -v dagmm || true)}
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "error: no dagmm binary: set DAGMM_BIN or put dagmm on PATH (DAGMM_BIN='${DAGMM_BIN:-}')" >&2
  exit 2
fi

# Absolute paths: the jobs may start in another directory (--chdir among the extra options).
absolute() { realpath -m -- "$1"; }
export DAGMM_BIN
DAGMM_BIN=$(absolute "$bin")
experiment=$(absolute "$experiment")
out=$(absolute "$out")
if [ -n "${DAGMM_DATA_DIR:-}" ]; then
  export DAGMM_DATA_DIR
  DAGMM_DATA_DIR=$(absolute "$DAGMM_DATA_DIR")
fi
logs=$out/slurm-logs
mkdir -p -- "$logs"

name=$(basename -- "$experiment" .toml)
# --parsable prints `ID` or `ID;CLUSTER`.
job_id() { cut -d ';' -f 1; }

sweep_job=$(sbatch --parsable --export=ALL \
  --job-name="dagmm-sweep-$name" \
  --array="1-$tasks" \
  --output="$logs/sweep-%A_%a.out" \
  "$@" \
  "$here/sweep.sbatch" "$experiment" "$out" | job_id)

# afterok: the report starts only when every task succeeded; with --kill-on-invalid-dep a failed
# task cancels it instead of leaving it pending forever.
report_job=$(sbatch --parsable --export=ALL \
  --job-name="dagmm-report-$name" \
  --dependency="$DAGMM_REPORT_AFTER:$sweep_job" \
  --kill-on-invalid-dep=yes \
  --output="$logs/report-%j.out" \
  "$@" \
  "$here/report.sbatch" "$out" | job_id) || {
  echo "error: the report job was not submitted; the sweep array $sweep_job was" \
    "(scancel $sweep_job, or submit $here/report.sbatch $out by hand)" >&2
  exit 1
}

echo "submitted: sweep array $sweep_job (tasks 1-$tasks), report $report_job" \
  "($DAGMM_REPORT_AFTER); logs in $logs" >&2
echo "sweep_job=$sweep_job"
echo "report_job=$report_job"
