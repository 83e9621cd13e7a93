#!/usr/bin/env bash
# Benchmark of the distributed runtime (a benchmark, not a test): the request plane must not be the bottleneck.
#   1. throughput and ITL: frontend + 2 mocker workers (flat STEP_MS steps) as separate processes on loopback, then
#      embedded `armature serve --workers 2` with the same profile, each driven by `armature bench load` at the same
#      concurrency, reported side by side;
#   2. failure timing: SIGKILL of the worker running a stream to the client's next token, and SIGKILL to the
#      worker's model leaving /v1/models (its last worker; bounded by the lease TTL).
# Usage: bench/distributed.sh [CONCURRENCY] [OUTPUT_TOKENS] [STEP_MS]   (defaults 1000 200 50)
# Needs etcd and nats-server (Debian packages etcd-server, nats-server). Writes reports under target/bench-distributed/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
conc="${1:-1000}"; osl="${2:-200}"; step="${3:-50}"
out="$root/target/bench-distributed"; mkdir -p "$out"; rm -rf "$out"/run; mkdir -p "$out/run"
etcd_bin="$(command -v etcd || echo /usr/bin/etcd)"; nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
[ -x "$etcd_bin" ] && [ -x "$nats_bin" ] || { echo "needs etcd and nats-server: apt-get install etcd-server nats-server" >&2; exit 1; }
./armature --version >/dev/null 2>&1   # build once, before several processes start
profile="h100-llama3-8b,weight_read_ms=${step},step_overhead_ms=0,token_compute_us=0,attention_pair_ns=0,kv_read_ns_per_token=0,kv_cache=64GiB"
seqs=$(( conc / 2 + 64 ))
# Steps take as many waiting prompts as allowed (the mocker's step is flat), so prefill admission hardly limits either setup.
worker_opts=(--mock-profile "$profile" --max-seqs "$seqs" --max-batched-tokens 16384 --served-model-name bench)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 )); }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start() { # NAME CMD...: starts in the background, waits for its 'ready' line, prints it
  local name="$1"; shift
  "$@" > "$out/run/$name.out" 2> "$out/run/$name.err" & pids+=($!); echo $! > "$out/run/$name.pid"
  for _ in $(seq 1 600); do grep -q '^ready' "$out/run/$name.out" 2>/dev/null && { grep '^ready' "$out/run/$name.out"; return; }; sleep 0.2; done
  echo "$name did not start: $(tail -5 "$out/run/$name.err")" >&2; exit 1
}
field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$out/run/$1.out"; }
ec=$(free_port); ep=$(free_port); np=$(free_port); fp=$(free_port); sp=$(free_port)
"$etcd_bin" --name bench --data-dir "$out/run/etcd" --listen-client-urls "http://127.0.0.1:$ec" --advertise-client-urls "http://127.0.0.1:$ec" \
  --listen-peer-urls "http://127.0.0.1:$ep" --initial-advertise-peer-urls "http://127.0.0.1:$ep" --initial-cluster "bench=http://127.0.0.1:$ep" \
  --log-level warn > "$out/run/etcd.log" 2>&1 & pids+=($!)
"$nats_bin" -a 127.0.0.1 -p "$np" > "$out/run/nats.log" 2>&1 & pids+=($!)
sleep 1
planes=(--discovery "etcd://127.0.0.1:$ec" --events "nats://127.0.0.1:$np")
start w1 ./armature worker "${planes[@]}" "${worker_opts[@]}" --lease-ttl 10s
start w2 ./armature worker "${planes[@]}" "${worker_opts[@]}" --lease-ttl 10s
start fe ./armature frontend "${planes[@]}" --host 127.0.0.1 --port "$fp" --max-queued 100000
until curl -s "http://127.0.0.1:$fp/v1/models" | grep -q '"bench"'; do sleep 0.2; done
# One wave of warm-up requests first (not counted): four JVMs JIT-compile on few cores, which is not the steady state.
load=(--concurrency "$conc" --isl 64 --osl "$osl" --warmup "$conc" --max-requests $(( conc * 2 )) --no-progress --no-charts --no-calibrate)
echo "== distributed: frontend + 2 workers, $conc streams, $osl tokens each, ${step} ms steps (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
./armature bench load --url "http://127.0.0.1:$fp/v1" "${load[@]}" --out "$out/distributed.json" 2>&1 | grep -v '^WARNING' | tee "$out/distributed.txt"

echo "== failure timing (greedy stream of 7000 tokens; SIGKILL the worker that runs it)"
stream_log="$out/run/stream.log"
( curl -sN "http://127.0.0.1:$fp/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model":"bench","prompt":"failover","max_tokens":7000,"temperature":0,"stream":true}' \
  | while IFS= read -r line; do [ -n "$line" ] && echo "$(date +%s%N) ${line:0:40}"; done > "$stream_log" ) &
stream_pid=$!
sleep 3
victim=""
for w in w1 w2; do
  running=$(curl -s "$(field $w metrics)" | awk '/^armature_requests_running /{print $2}')
  [ "${running%.*}" -ge 1 ] 2>/dev/null && victim=$w
done
[ -n "$victim" ] || { echo "no worker runs the stream" >&2; exit 1; }
killed=$(date +%s%N); kill -9 "$(cat "$out/run/$victim.pid")"
sleep 3
next=$(awk -v k="$killed" '$1 > k {print $1; exit}' "$stream_log")
echo "SIGKILL of $victim -> client's next token: $(( (next - killed) / 1000000 )) ms"
kill "$stream_pid" 2>/dev/null || true
survivor=$([ "$victim" = w1 ] && echo w2 || echo w1)
killed=$(date +%s%N); kill -9 "$(cat "$out/run/$survivor.pid")"
until ! curl -s "http://127.0.0.1:$fp/v1/models" | grep -q '"bench"'; do sleep 0.05; done
gone=$(date +%s%N)
echo "SIGKILL of the model's last worker -> gone from /v1/models: $(( (gone - killed) / 1000000 )) ms (its connection refused)"
until grep -q "worker $(field "$survivor" worker) left" "$out/run/fe.err"; do sleep 0.05; done
expired=$(date +%s%N)
echo "SIGKILL of the model's last worker -> removed from discovery (lease of 10 s expired): $(( (expired - killed) / 1000000 )) ms"
cleanup; pids=()

echo "== embedded: armature serve --workers 2, same profile and load"
./armature serve --host 127.0.0.1 --port "$sp" --workers 2 "${worker_opts[@]}" --max-queued 100000 > "$out/run/serve.out" 2> "$out/run/serve.err" &
pids+=($!)
until curl -s "http://127.0.0.1:$sp/v1/models" | grep -q '"bench"'; do sleep 0.2; done
echo "(load before: $(cut -d' ' -f1-3 /proc/loadavg))"
./armature bench load --url "http://127.0.0.1:$sp/v1" "${load[@]}" --out "$out/embedded.json" 2>&1 | grep -v '^WARNING' | tee "$out/embedded.txt"
echo "== reports: $out/distributed.json $out/embedded.json"
