#!/usr/bin/env bash
# The SLA planner with real processes (a benchmark, not a test): etcd, NATS, a frontend and `armature planner
# --connector local`, which starts and drains mocker `armature worker` processes on this machine, under `armature
# bench load --request-rate` stepping up then down (Poisson arrivals, one load point after the other, real time).
# Reports per load point the requests completed and failed and their TTFT and ITL (bench load's JSON), the planner's
# decisions (its --timeline JSON lines) and their PNG timeline (request rate, workers, mean TTFT and ITL per interval).
# Usage: bench/planner-local.sh [RATES] [STEP]      (defaults 1,4,8,4,1 req/s and 40s per rate)
# Needs etcd and nats-server (Debian packages etcd-server, nats-server). Writes everything under target/bench-planner/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rates="${1:-1,4,8,4,1}"; step="${2:-40s}"
out="$root/target/bench-planner"; rm -rf "$out"; mkdir -p "$out/run"
etcd_bin="$(command -v etcd || echo /usr/bin/etcd)"; nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
[ -x "$etcd_bin" ] && [ -x "$nats_bin" ] || { echo "needs etcd and nats-server: apt-get install etcd-server nats-server" >&2; exit 1; }
./armature --version >/dev/null 2>&1   # build once, before several processes start
# A worker slower than an H100 (0.2 ms per prompt token, 10 ms per decode step), so a few requests per second need
# several workers and the machine's CPUs are not what limits them; the planner profiles these options itself.
profile="h100-llama3-8b,weight_read_ms=10,token_compute_us=200"
isl=1024; osl=64
export ARMATURE_JAVA_OPTS="${ARMATURE_JAVA_OPTS:--Xmx512m}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 )); }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start() { # NAME CMD...: starts in the background, waits for its 'ready' line
  local name="$1"; shift
  "$@" > "$out/run/$name.out" 2> "$out/run/$name.err" & pids+=($!); echo $! > "$out/run/$name.pid"
  for _ in $(seq 1 600); do grep -q '^ready' "$out/run/$name.out" 2>/dev/null && { grep '^ready' "$out/run/$name.out"; return; }; sleep 0.2; done
  echo "$name did not start: $(tail -5 "$out/run/$name.err")" >&2; exit 1
}
ec=$(free_port); ep=$(free_port); np=$(free_port); fp=$(free_port)
"$etcd_bin" --name bench --data-dir "$out/run/etcd" --listen-client-urls "http://127.0.0.1:$ec" --advertise-client-urls "http://127.0.0.1:$ec" \
  --listen-peer-urls "http://127.0.0.1:$ep" --initial-advertise-peer-urls "http://127.0.0.1:$ep" --initial-cluster "bench=http://127.0.0.1:$ep" \
  --log-level warn > "$out/run/etcd.log" 2>&1 & pids+=($!)
"$nats_bin" -a 127.0.0.1 -p "$np" > "$out/run/nats.log" 2>&1 & pids+=($!)
sleep 1
planes=(--discovery "etcd://127.0.0.1:$ec" --events "nats://127.0.0.1:$np")
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start fe ./armature frontend "${planes[@]}" --host 127.0.0.1 --port "$fp" --hold-timeout 600s
start planner ./armature planner "${planes[@]}" --served-model-name bench --connector local --min-workers 1 --max-workers 8 \
  --ttft-slo 1 --itl-slo 0.05 --interval 5s --worker-startup-seconds 20 --warmup-seconds 5 --scale-down-delay 20s \
  --timeline "$out/timeline.jsonl" --worker-log-dir "$out/run/workers" \
  -- --mock-profile "$profile" --served-model-name bench --drain-timeout 60s --lease-ttl 10s
until curl -s "http://127.0.0.1:$fp/v1/models" | grep -q '"bench"'; do sleep 0.5; done
echo "== bench load: rates $rates req/s, $step each, prompts $isl tokens, $osl output tokens (load average $(cut -d' ' -f1-3 /proc/loadavg))"
started=$(date +%s)
./armature bench load --url "http://127.0.0.1:$fp/v1" --request-rate "$rates" --duration "$step" --isl "$isl" --osl "$osl" --seed 17 \
  --slo-ttft 1s --slo-itl 50ms --no-progress --no-charts --out "$out/load.json" 2>&1 | grep -v '^WARNING' | tee "$out/load.txt"
echo "== load done after $(( $(date +%s) - started )) s (load average $(cut -d' ' -f1-3 /proc/loadavg)); idle until the pool is back at 1 (at most 90 s)"
for _ in $(seq 1 90); do
  last=$(tail -1 "$out/timeline.jsonl")
  case "$last" in *'"serving":1,"starting":0,"draining":0'*) break;; esac
  sleep 1
done
# SIGTERM: the planner drains the workers it started and draws its timeline.
kill -TERM "$(cat "$out/run/planner.pid")"
for _ in $(seq 1 300); do kill -0 "$(cat "$out/run/planner.pid")" 2>/dev/null || break; sleep 0.5; done
grep -h "timeline of\|exited with status" "$out/run/planner.err" | sed 's/^.*armature/armature/' | tail -12
python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
load = json.load(open(out + "/load.json"))
points = load.get("sweep", [load])
lost = 0
print("%-22s %8s %9s %6s %10s %10s %10s %9s" % ("load", "requests", "completed", "failed", "TTFT p50", "TTFT p99", "ITL p99", "goodput"))
for p in points:
    s = p["summary"]
    lost += s["requests_failed"]
    print("%-22s %8d %9d %6d %9.3fs %9.3fs %9.4fs %8.1f%%" % (s["load"], s["requests_total"], s["requests_completed"], s["requests_failed"],
          s["ttft_seconds"]["p50"], s["ttft_seconds"]["p99"], s["itl_seconds"]["p99"], 100.0 * s["good_requests"] / max(1, s["requests_total"])))
rows = [json.loads(l) for l in open(out + "/timeline.jsonl") if l.strip()]
changes = [r for r in rows if r["target"] != r["current"]]
ws = sum((b["time_s"] - a["time_s"]) * a["serving"] for a, b in zip(rows, rows[1:]))
print("planner: %d decisions, %d changes (%s), peak %d serving, %.0f worker-seconds serving over %.0f s; requests failed: %d"
      % (len(rows), len(changes), ", ".join("%.0fs %d->%d" % (r["time_s"], r["current"], r["target"]) for r in changes),
         max(r["serving"] for r in rows), ws, rows[-1]["time_s"] - rows[0]["time_s"], lost))
EOF
echo "== reports: $out/load.json $out/timeline.jsonl $out/timeline.png (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
