# Sourced by bench/cli.sh and bench/scale.sh, after they set $bin and $work: starts
# the stand-in LWA server with LATENCY_MS (default 50) ms added to every request,
# sets $latency_ms and $standin_pid, and exports SPVAULT_LWA_TOKEN_URL.
latency_ms=${LATENCY_MS:-50}
"$bin/examples/lwa_standin" --latency-ms "$latency_ms" > "$work/standin.url" &
standin_pid=$!
for _ in $(seq 50); do [ -s "$work/standin.url" ] && break; sleep 0.1; done
export SPVAULT_LWA_TOKEN_URL=$(cat "$work/standin.url")
