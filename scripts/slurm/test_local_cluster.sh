#!/usr/bin/env bash
# End-to-end test of scripts/slurm on a one-node Slurm cluster started here: a private munged and
# slurmctld/slurmd on this machine (Debian's slurm-wlm and munge packages; run as root), a 4-task
# array sweep of a tiny experiment through submit.sh, then checks that the report lists every run
# of the experiment exactly once and that the shards split the runs without overlap.
#
#   DAGMM_BIN=target/release/dagmm scripts/slurm/test_local_cluster.sh
#
# Everything lives under one folder (${TMPDIR:-/tmp}/dagmm-slurm-test): its own munge key and
# socket, slurm.conf (SLURM_CONF points at it), state, logs and pid files. The daemons are stopped
# and the folder removed on exit; daemons a killed earlier run left behind are stopped first (by
# the pids in their pid files). Set DAGMM_SLURM_TEST_KEEP=1 to keep the folder.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base=${TMPDIR:-/tmp}/dagmm-slurm-test
timeout_s=${DAGMM_SLURM_TEST_TIMEOUT:-120}
tasks=4

say() { echo "[slurm test] $*" >&2; }
failure=
fail() {
  say "FAILED: $*"
  failure=$*
  exit 1
}

for tool in munged munge slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool not found (apt-get install slurm-wlm munge)"
done
[ "$(id -u)" -eq 0 ] || fail "must run as root (slurmd runs the jobs as their user)"
bin=${DAGMM_BIN:-$(command -v dagmm || true)}
[[ -n "$bin" && -x "$bin" ]] || fail "no dagmm binary: set DAGMM_BIN"
export DAGMM_BIN
DAGMM_BIN=$(realpath -- "$bin")

# One test at a time on this machine. The daemons must not inherit the lock (9>&- below), or a
# killed run's daemons would hold it.
exec 9>"$base.lock"
flock -w 120 9 || fail "another run holds $base.lock"

# Stops a daemon by the pid in its pid file, if that process is still the daemon.
stop_pid_file() {
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -d "/proc/$pid" ] || return 0
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

stop_all() {
  local pid
  pid=$(cat "$base/slurmctld.pid" 2>/dev/null || true)
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = slurmctld ]; then
    # Jobs still running (a timeout) are killed by slurmd, so it must outlive them.
    export SLURM_CONF=$base/slurm.conf
    timeout 10 scancel --quiet --user=root 2>/dev/null || true
    for _ in $(seq 20); do
      [ -z "$(timeout 5 squeue -h -o '%i' 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  stop_pid_file "$base/slurmd.pid" slurmd
  stop_pid_file "$base/slurmctld.pid" slurmctld
  stop_pid_file "$base/munged.pid" munged
}

cleanup() {
  local rc=$?
  stop_all
  if [ "$rc" -ne 0 ]; then
    for log in "$base"/slurmctld.log "$base"/slurmd.log "$base"/out/slurm-logs/*; do
      [ -f "$log" ] || continue
      say "---- last lines of $log"
      tail -n 30 "$log" >&2 || true
    done
    say "FAILED: ${failure:-exit status $rc, see above}"
  fi
  if [ "${DAGMM_SLURM_TEST_KEEP:-0}" = 1 ]; then
    say "kept $base"
  else
    rm -rf -- "$base"
  fi
}

# A run killed before its clean-up left its daemons and folder behind.
stop_all
rm -rf -- "$base"
mkdir -p "$base/state" "$base/spool" "$base/data" "$base/exp/configs/toy"
# munged wants every directory above its socket searchable by everyone.
chmod 755 "$base"
trap cleanup EXIT

# (a) A private munged: its own key and socket, so a machine's real munge is left alone.
dd if=/dev/urandom of="$base/munge.key" bs=1 count=128 status=none
chmod 400 "$base/munge.key"
munged --socket="$base/munge.sock" --key-file="$base/munge.key" \
  --pid-file="$base/munged.pid" --log-file="$base/munged.log" --seed-file="$base/munged.seed" 9>&- ||
  fail "munged did not start: $(tail -n 3 "$base/munged.log" 2>/dev/null)"
munge -S "$base/munge.sock" -n | unmunge -S "$base/munge.sock" >/dev/null ||
  fail "munge does not answer on $base/munge.sock"

# (b) slurm.conf: one node (this machine, as slurmd -C sees it), one partition, no cgroups, no
# accounting. Ports: the first free pair from 16817 up.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=16817
while port_busy "$port" || port_busy "$((port + 1))"; do
  port=$((port + 2))
  [ "$port" -lt 16917 ] || fail "no free port pair in 16817-16917"
done
host=$(hostname -s)
node=$(slurmd -C | head -n 1 | sed -E 's/^NodeName=[^ ]+ //; s/ *$//')
[ -n "$node" ] || fail "slurmd -C printed nothing"
cat >"$base/slurm.conf" <<EOF
ClusterName=dagmmtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$base/munge.sock
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd.pid
SlurmctldLogFile=$base/slurmctld.log
SlurmdLogFile=$base/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$base/slurm.conf
# The submitting shell's own Slurm settings do not belong to this cluster.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(SLURM_|SBATCH_|SQUEUE_)' | grep -vx SLURM_CONF || true)

# (c) The daemons (they fork; the pid files say which processes are theirs).
started=$SECONDS
slurmctld -c 9>&- || fail "slurmctld did not start"
slurmd 9>&- || fail "slurmd did not start"
until sinfo -h -n "$host" -o '%T' 2>/dev/null | grep -qx idle; do
  [ $((SECONDS - started)) -lt 60 ] ||
    fail "the node is not idle after 60 s: $(sinfo -h -N -o '%N %T %E' 2>&1)"
  sleep 0.5
done
say "cluster up in $((SECONDS - started)) s: $(sinfo -h -N -o '%N %T %c CPUs %m MB')"

# The tiny experiment: an EM GMM at two K (a grid) × 4 seeds and a 2-epoch DAGMM × 2 seeds on
# generated CSVs, found through DAGMM_DATA_DIR (a relative data.path is looked up there), so the
# variable's way into the jobs is tested too. The DAGMM's file is missing in the first round.
awk 'BEGIN {
  print "f0,f1,f2,f3,f4,f5,f6,f7,label"
  for (i = 0; i < 1500; i++) {
    t = i * 0.618; t -= int(t); anomaly = (i % 10 == 0); line = ""
    for (j = 0; j < 8; j++) {
      b = 0.2 + 0.6 * t * (j + 1) / 8
      v = (anomaly ? 1 - b : b) + 0.01 * ((i * 7 + j * 3) % 11) / 11
      line = line sprintf("%.5f,", v)
    }
    print line anomaly
  }
}' >"$base/data/dagmm_slurm_test_gmm.csv"
cat >"$base/exp/configs/toy/gmm.toml" <<'EOF'
[model]
kind = "gmm"
[data]
source = "file"
path = "dagmm_slurm_test_gmm.csv"
label_column = "label"
scaling = "min_max"
[evaluation]
anomaly_percentile = 10.0
[gmm]
n_components = 2
EOF
cat >"$base/exp/configs/toy/dagmm.toml" <<'EOF'
[data]
source = "file"
path = "dagmm_slurm_test_dagmm.csv"
label_column = "label"
[evaluation]
anomaly_percentile = 10.0
[compression]
encoder_layers = [6, 1]
[estimation]
n_components = 2
[training]
batch_size = 128
epochs = 2
learning_rate = 1e-3
EOF
cat >"$base/exp/tiny.toml" <<'EOF'
description = "scripts/slurm/test_local_cluster.sh: 10 tiny runs"
seeds = [0, 1, 2, 3]

[[run]]
name = "gmm"
label = "GMM"
config = "configs/toy/gmm.toml"
grid = { "gmm.n_components" = [1, 2] }

[[run]]
name = "dagmm"
label = "DAGMM"
config = "configs/toy/dagmm.toml"
seeds = [0, 1]
EOF
# Method folder and seeds of every run the experiment defines. The runs in order (seed-major):
# gmm K=1, gmm K=2, dagmm for seeds 0 and 1, then the two gmm runs for seeds 2 and 3; shard i of
# 4 takes runs i, i+4 and i+8, so the DAGMM runs (the 3rd and 6th) fall to shards 3 and 2.
expected="dagmm 0 1
gmm/gmm.n_components=1 0 1 2 3
gmm/gmm.n_components=2 0 1 2 3"
n_runs=10
export DAGMM_DATA_DIR=$base/data
out=$base/out

# (d) Submits the sweep from another directory with a relative OUT, as a user would, and waits
# for its jobs to leave the queue; sets sweep_job and report_job.
submit_and_wait() {
  local ids submitted
  ids=$(cd "$base/exp" && "$here/submit.sh" tiny.toml ../out "$tasks" \
    --cpus-per-task=1 --mem=200M --time=5) || fail "submit.sh failed"
  sweep_job=$(sed -n 's/^sweep_job=//p' <<<"$ids")
  report_job=$(sed -n 's/^report_job=//p' <<<"$ids")
  [[ "$sweep_job" =~ ^[0-9]+$ && "$report_job" =~ ^[0-9]+$ ]] ||
    fail "submit.sh printed no job ids: $ids"
  submitted=$SECONDS
  while [ -n "$(squeue -h -j "$sweep_job,$report_job" -o '%i' 2>/dev/null)" ]; do
    [ $((SECONDS - submitted)) -lt "$timeout_s" ] ||
      fail "jobs still queued after $timeout_s s: $(squeue -h -o '%i %T %r')"
    sleep 1
  done
  say "jobs $sweep_job (array) and $report_job left the queue after $((SECONDS - submitted)) s"
}

# "STATE EXIT" of a job or array task (JOB or JOB_TASK), from slurmctld's memory (MinJobAge).
state() {
  scontrol -o show job "$1" 2>/dev/null |
    sed -nE 's/.*JobState=([A-Z_]+) .*ExitCode=([0-9]+:[0-9]+).*/\1 \2/p' | head -n 1
}
expect_state() {
  local got
  got=$(state "$1")
  [ "$got" = "$2" ] || fail "job $1: '$got', expected '$2'"
}

# Sets shard_finished and shard_to_run from array task $1's log (`N runs in shard i/n; F finished
# already, T to run`).
shard_counts() {
  local log=$out/slurm-logs/sweep-${sweep_job}_$1.out line
  [ -f "$log" ] || fail "no log $log"
  line=$(grep -E "runs in shard $1/$tasks; [0-9]+ finished already, [0-9]+ to run" "$log") ||
    fail "$log: no 'shard $1/$tasks' line: $(cat "$log")"
  read -r shard_finished shard_to_run < <(
    sed -E 's/.* ([0-9]+) finished already, ([0-9]+) to run.*/\1 \2/' <<<"$line"
  )
}

# Round 1: the DAGMM's data is missing, so shards 2 and 3 fail (after their GMM runs); afterok
# with --kill-on-invalid-dep cancels the report instead of leaving it pending.
submit_and_wait
for i in 1 4; do expect_state "${sweep_job}_$i" "COMPLETED 0:0"; done
for i in 2 3; do expect_state "${sweep_job}_$i" "FAILED 1:0"; done
expect_state "$report_job" "CANCELLED 0:0"
grep -q "DAGMM_DATA_DIR=$DAGMM_DATA_DIR:" "$out/slurm-logs/sweep-${sweep_job}_1.out" ||
  fail "DAGMM_DATA_DIR did not reach the job"
for i in $(seq "$tasks"); do
  shard_counts "$i"
  [ "$shard_finished" = 0 ] || fail "shard $i found $shard_finished finished runs"
done
[ ! -e "$out/table.csv" ] || fail "a report was written after a failed task"
n_done=$(find "$out" -name summary.json | wc -l)
[ "$n_done" -eq 8 ] || fail "$n_done runs finished in round 1, not the 8 GMM runs"

# Round 2: with the data in place the same command finishes the two missing runs only.
cp "$base/data/dagmm_slurm_test_gmm.csv" "$base/data/dagmm_slurm_test_dagmm.csv"
submit_and_wait
for i in $(seq "$tasks"); do expect_state "${sweep_job}_$i" "COMPLETED 0:0"; done
expect_state "$report_job" "COMPLETED 0:0"
finished_before=0
ran=0
for i in $(seq "$tasks"); do
  shard_counts "$i"
  finished_before=$((finished_before + shard_finished))
  ran=$((ran + shard_to_run))
done
[[ "$finished_before" -eq 8 && "$ran" -eq 2 ]] ||
  fail "round 2 found $finished_before runs finished and ran $ran, expected 8 and 2"

# (e) The report: one row per method, listing each of its seeds once.
[ -f "$out/table.csv" ] || fail "no $out/table.csv"
found=$(awk -F, 'NR > 1 { print $2, $4 }' "$out/table.csv" | sort)
[ "$found" = "$expected" ] || fail "table.csv lists
$found
instead of
$expected"
[ -s "$out/slurm-logs/report-$report_job.out" ] || fail "no report log"
n_summaries=$(find "$out" -name summary.json | wc -l)
[ "$n_summaries" -eq "$n_runs" ] || fail "$n_summaries summary.json files, not $n_runs"
leftovers=$(find "$out" -name '*.partial' -o -name '*.tmp-*' -o -name checkpoint)
[ -z "$leftovers" ] || fail "left behind: $leftovers"

say "ok: $n_runs runs in $tasks shards, each once in table.csv; a failed task cancelled the" \
  "report and a resubmission ran only the missing runs ($((SECONDS - started)) s)"
