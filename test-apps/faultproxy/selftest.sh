#!/usr/bin/env bash
#
# selftest.sh PROXY_BINARY
#
# Proves each lws-faultproxy fault mode does what it says, without
# libwebsockets: a python3 echo server and `openssl s_server` are the
# upstreams, python3 sockets and `openssl s_client` the clients.  Every check
# asserts on measured output and prints PASS or FAIL; the exit status is the
# number of failures (capped at 100).  Everything runs on 127.0.0.1 with
# kernel-chosen ports, every wait is bounded, children are killed on exit.
#
# PROXY_WRAPPER runs the proxy under a tool, for instance
#   PROXY_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full" \
#	selftest.sh ./lws-faultproxy
# Each proxy run must then still exit 0 (ASan and valgrind make it non-zero).
#
set -u

PROXY=${1:?usage: selftest.sh PROXY_BINARY}
WRAP=${PROXY_WRAPPER:-}
# a slow wrapper (valgrind) needs longer waits for the proxy itself
SLOW=1
[ -n "$WRAP" ] && SLOW=4

command -v python3 >/dev/null || { echo "FAIL: python3 is required"; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl is required"; exit 1; }
[ -x "$PROXY" ] || { echo "FAIL: $PROXY is not executable"; exit 1; }

T=$(mktemp -d /tmp/fp-selftest.XXXXXX)
PIDS=()
FAILS=0
CHECKS=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	CHECKS=$((CHECKS + 1))
	echo "PASS: $1"
}

bad() {
	CHECKS=$((CHECKS + 1))
	FAILS=$((FAILS + 1))
	echo "FAIL: $1"
	shift
	[ $# -gt 0 ] && echo "      $*"
	return 0
}

# check NAME COMMAND...: PASS if the command succeeds
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name" "failed: $*"; fi
}

# ---- the python helper ----------------------------------------------------

cat >"$T/h.py" <<'PY'
import json, os, socket, sys, threading, time, errno, hashlib

def data_for(n, seed=7):
	out = bytearray()
	c = 0
	while len(out) < n:
		out += hashlib.sha256(b"%d:%d" % (seed, c)).digest()
		c += 1
	return bytes(out[:n])

def echo_server(portfile, logfile):
	"""threaded echo; logs 'peer_port bytes_in end' per connection"""
	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("127.0.0.1", 0))
	ls.listen(512)
	log = open(logfile, "a", buffering=1)
	lock = threading.Lock()
	def serve(s, peer):
		n, end = 0, "eof"
		s.settimeout(30)
		try:
			while True:
				b = s.recv(65536)
				if not b:
					break
				n += len(b)
				s.sendall(b)
		except OSError as e:
			end = errno.errorcode.get(e.errno, "timeout")
		with lock:
			log.write("%d %d %s\n" % (peer[1], n, end))
		s.close()
	with open(portfile + ".tmp", "w") as f:
		f.write(str(ls.getsockname()[1]))
	os.rename(portfile + ".tmp", portfile)
	while True:
		s, peer = ls.accept()
		threading.Thread(target=serve, args=(s, peer), daemon=True).start()

def client(port, send, chunk=4096, interval_ms=0, timeout=5.0,
	   hello=0):
	"""send `send` bytes (optionally behind a fake TLS record of `hello`
	body bytes), shut down, read until EOF/error/timeout; print JSON"""
	data = data_for(send)
	if hello:
		data = bytes([22, 3, 1, hello >> 8, hello & 255]) + \
		       data_for(hello, 9) + data
	r = {"sent": 0, "send_error": None, "recv": 0, "recv_error": None,
	     "eof": False, "nrecv": 0, "max_recv": 0}
	t0 = time.monotonic()
	try:
		s = socket.create_connection(("127.0.0.1", port),
					     timeout=timeout)
	except OSError as e:
		# a RST can beat the end of connect() on loopback
		r["recv_error"] = r["connect_error"] = \
			errno.errorcode.get(e.errno, "timeout")
		print(json.dumps(r))
		return
	r["lport"] = s.getsockname()[1]
	def sender():
		try:
			for i in range(0, len(data), chunk):
				s.sendall(data[i:i + chunk])
				r["sent"] += len(data[i:i + chunk])
				if interval_ms:
					time.sleep(interval_ms / 1000)
			s.shutdown(socket.SHUT_WR)
		except OSError as e:
			r["send_error"] = errno.errorcode.get(e.errno, "timeout")
	th = threading.Thread(target=sender, daemon=True)
	th.start()
	got = bytearray()
	try:
		while True:
			b = s.recv(65536)
			if not b:
				r["eof"] = True
				break
			r["nrecv"] += 1
			r["max_recv"] = max(r["max_recv"], len(b))
			got += b
			r["t_last"] = round(time.monotonic() - t0, 3)
	except OSError as e:
		r["recv_error"] = errno.errorcode.get(e.errno, "timeout")
	th.join(timeout + 1)
	r["recv"] = len(got)
	r["match"] = bytes(got) == data[:len(got)]
	r["full"] = r["match"] and len(got) == len(data)
	r["elapsed"] = round(time.monotonic() - t0, 3)
	s.close()
	print(json.dumps(r))

def query(expr, *files):
	"""print eval(expr) over name=file bindings (.jsonl -> list)"""
	env = {}
	for a in files:
		name, path = a.split("=", 1)
		with open(path) as f:
			if path.endswith(".jsonl"):
				env[name] = [json.loads(l) for l in f if l.strip()]
			else:
				env[name] = json.load(f)
	v = eval(expr, env)
	print(v if not isinstance(v, (dict, list)) else json.dumps(v))

if __name__ == "__main__":
	cmd, a = sys.argv[1], sys.argv[2:]
	if cmd == "echo":
		echo_server(a[0], a[1])
	elif cmd == "client":
		kw = dict(x.split("=", 1) for x in a[1:])
		for _ in range(int(kw.get("repeat", 1))):
			client(int(a[0]), int(kw.get("send", 0)),
			       chunk=int(kw.get("chunk", 4096)),
			       interval_ms=int(kw.get("interval_ms", 0)),
			       timeout=float(kw.get("timeout", 5)),
			       hello=int(kw.get("hello", 0)))
	elif cmd == "q":
		query(a[0], *a[1:])
	elif cmd == "freeport":
		s = socket.socket()
		s.bind(("127.0.0.1", 0))
		print(s.getsockname()[1])
PY

H() { timeout 20 python3 "$T/h.py" "$@"; }

# q EXPR name=file...: evaluate EXPR over JSON files (py helper)
q() { H q "$@" 2>/dev/null; }

# ---- upstreams ------------------------------------------------------------

wait_file() {	# wait_file FILE SECONDS
	local n=0 max=$(($2 * 10))
	while [ ! -s "$1" ] && [ $n -lt $max ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -s "$1" ]
}

python3 "$T/h.py" echo "$T/echo.port" "$T/echo.log" &
PIDS+=($!)
wait_file "$T/echo.port" 5 || { echo "FAIL: echo server did not start"; exit 1; }
ECHO_PORT=$(cat "$T/echo.port")

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-days 1 -subj /CN=localhost -keyout "$T/key.pem" -out "$T/cert.pem" \
	>/dev/null 2>&1 || { echo "FAIL: cannot make a test certificate"; exit 1; }

start_tls_server() {
	local n
	for n in 1 2 3; do
		TLS_PORT=$(H freeport)
		openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert "$T/cert.pem" \
			-key "$T/key.pem" -www -tls1_3 >"$T/s_server.out" \
			2>"$T/s_server.err" </dev/null &
		TLS_PID=$!
		PIDS+=($TLS_PID)
		for _ in $(seq 50); do
			grep -q ACCEPT "$T/s_server.out" 2>/dev/null && return 0
			kill -0 $TLS_PID 2>/dev/null || break
			sleep 0.1
		done
		kill $TLS_PID 2>/dev/null
	done
	return 1
}
start_tls_server || { echo "FAIL: openssl s_server did not start"; exit 1; }

# ---- proxy runs --------------------------------------------------------------

# start_proxy NAME UPSTREAM_PORT ARGS...: sets PORT, PPID_<NAME>
start_proxy() {
	local name=$1 up=$2
	shift 2
	: >"$T/$name.jsonl"
	$WRAP "$PROXY" --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" \
		--events "$T/$name.jsonl" --json "$T/$name.json" \
		--duration 40 "$@" 2>"$T/$name.err" &
	eval "PPID_$name=$!"
	PIDS+=($!)
	wait_file "$T/$name.jsonl" $((5 * SLOW)) || { PORT=0; return 1; }
	PORT=$(q 'e[0]["port"]' "e=$T/$name.jsonl")
}

# stop_proxy NAME: SIGTERM, bounded wait; checks exit 0 and a summary
stop_proxy() {
	local name=$1 pid n=0 rc
	eval "pid=\$PPID_$name"
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $n -lt $((50 * SLOW)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		bad "$name: proxy exits on SIGTERM" "still running after $((5 * SLOW)) s"
		return
	fi
	wait "$pid"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(q 's["exit_reason"]' "s=$T/$name.json")" = signal ]; then
		ok "$name: proxy exit 0 on SIGTERM, summary written, sanitizer clean"
	else
		bad "$name: proxy exit 0 on SIGTERM, summary written, sanitizer clean" \
			"rc=$rc; stderr: $(tail -c 1500 "$T/$name.err")"
	fi
}

# client PORT k=v...: run one python client, result JSON in $R
client() { R=$(H client "$@"); }
r() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(v)' "$R" "$1"; }

# s_client through PORT; output in $T/$1.sc
s_client() {
	local name=$1 port=$2
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout $((5 * SLOW)) openssl s_client \
		-connect "127.0.0.1:$port" -servername localhost -ign_eof \
		>"$T/$name.sc" 2>&1
}

echo "# proxy: $PROXY ${WRAP:+(under: $WRAP)}"
echo "# echo upstream :$ECHO_PORT, TLS upstream :$TLS_PORT, tmp $T"

# ---- 1. options ----------------------------------------------------------------

bad_opt() {	# bad_opt EXPECTED_TEXT ARGS...
	local want=$1 out rc
	shift
	out=$(timeout 5 "$PROXY" "$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$want" <<<"$out"; then
		ok "bad option exits 2: $*"
	else
		bad "bad option exits 2: $*" "rc=$rc out=$out"
	fi
}
U="--listen 127.0.0.1:0 --upstream 127.0.0.1:9"
bad_opt "fraction" $U --fraction 1.5
bad_opt "fraction" $U --fraction abc
bad_opt "unknown fault kind 'bogus'" $U --faults rst,bogus
bad_opt "upstream is required" --listen 127.0.0.1:0
bad_opt "listen" --listen 127.0.0.1:99999 --upstream 9
bad_opt "bad option" $U --no-such-option
bad_opt "expected c2s, s2c or both" $U --dir up
bad_opt "range upper end below" $U --after-bytes 10-5
bad_opt "exclusive" $U --offset 3 --record 2
bad_opt "drop-mode" $U --drop-mode linger
bad_opt "not a numeric address" --listen 127.0.0.1:0 --upstream example.com:443
bad_opt "unexpected argument" $U stray

help=$(timeout 5 "$PROXY" --help 2>&1)
rc=$?
missing=""
for w in corrupt truncate rst blackhole stall split delay drop-after-hello \
	 --seed --fraction --faults --fault-conn --max-conns --duration \
	 --max-fds --dir --offset --record --after-ms --blackhole-ms \
	 --stall-ms --segment --segment-gap-us --split-all --delay-ms \
	 --drop-mode --events --json --stats-interval Examples; do
	grep -q -- "$w" <<<"$help" || missing="$missing $w"
done
if [ $rc -eq 0 ] && [ -z "$missing" ]; then
	ok "--help exits 0 and documents every option and fault kind"
else
	bad "--help exits 0 and documents every option and fault kind" "rc=$rc missing:$missing"
fi

# ---- 2. pass-through ----------------------------------------------------------

start_proxy pass "$ECHO_PORT" --seed 1
client "$PORT" send=2000000 chunk=65536
if [ "$(r full)" = True ] && [ "$(r eof)" = True ]; then
	ok "pass-through: 2 MB echoed byte-exact, clean EOF"
else
	bad "pass-through: 2 MB echoed byte-exact, clean EOF" "$R"
fi
# 20 concurrent clients
for i in $(seq 20); do
	H client "$PORT" send=100000 chunk=1000 >"$T/par.$i" &
done
wait_n=0
for i in $(seq 20); do
	while [ ! -s "$T/par.$i" ] && [ $wait_n -lt 200 ]; do sleep 0.05; wait_n=$((wait_n + 1)); done
done
sleep 0.1
nfull=$(cat "$T"/par.* | grep -c '"full": true')
[ "$nfull" = 20 ] && ok "pass-through: 20 concurrent clients byte-exact" ||
	bad "pass-through: 20 concurrent clients byte-exact" "$nfull/20"
stop_proxy pass
v=$(q '[s["connections"]["total"], s["bytes"]["c2s"] >= 4000000, sum(x["planned"] for x in s["faults"].values())]' "s=$T/pass.json")
[ "$v" = "[21, true, 0]" ] && ok "pass-through: summary counts 21 connections, no faults" ||
	bad "pass-through: summary counts 21 connections, no faults" "$v"

start_proxy passtls "$TLS_PORT"
s_client passtls "$PORT"
if grep -q "HTTP/1.0 200" "$T/passtls.sc" && grep -q "TLSv1.3" "$T/passtls.sc"; then
	ok "pass-through: TLS 1.3 handshake and HTTP response via s_client"
else
	bad "pass-through: TLS 1.3 handshake and HTTP response via s_client" "$(grep -i error "$T/passtls.sc")"
fi
stop_proxy passtls

# ---- 3. split (a non-fault) -------------------------------------------------------

start_proxy split "$ECHO_PORT" --split-all --segment 1-7 --segment-gap-us 1000
client "$PORT" send=3000 chunk=3000
# unsplit, 3000 bytes take 1-2 reads; split, >= 3000/7 (the odd read
# may still merge two segments)
if [ "$(r full)" = True ] && [ "$(r nrecv)" -ge 429 ]; then
	ok "split: 3000 bytes arrive byte-exact in $(r nrecv) reads (<= 7 bytes on average)"
else
	bad "split: 3000 bytes arrive byte-exact in >= 429 reads" "$R"
fi
stop_proxy split

start_proxy splittls "$TLS_PORT" --split-all --segment 1-7
s_client splittls "$PORT"
grep -q "HTTP/1.0 200" "$T/splittls.sc" && ok "split: TLS handshake and response survive 1-7 byte segments" ||
	bad "split: TLS handshake and response survive 1-7 byte segments" "$(grep -i error "$T/splittls.sc")"
stop_proxy splittls
v=$(q "[x['split_dir'] for x in e if x['ev'] == 'accepted']" "e=$T/splittls.jsonl")
[ "$v" = '["both"]' ] && ok "split: reported as split both ways, not as a fault" ||
	bad "split: reported as split both ways, not as a fault" "$v"

# ---- 4. corrupt ------------------------------------------------------------------

start_proxy corrupt "$TLS_PORT" --fraction 1 --faults corrupt --record 3 --dir c2s
s_client corrupt "$PORT"
if grep -qiE "bad record mac|alert number 20" "$T/corrupt.sc"; then
	ok "corrupt: record 3 c2s makes the TLS peer send a bad_record_mac alert"
else
	bad "corrupt: record 3 c2s makes the TLS peer send a bad_record_mac alert" "$(tail -5 "$T/corrupt.sc")"
fi
grep -q HTTP/1.0 "$T/corrupt.sc" && bad "corrupt: no HTTP response after corruption" ||
	ok "corrupt: no HTTP response after corruption"
stop_proxy corrupt
v=$(q '[(x["record"], x["dir"], x["body_offset"] == x["record_len"] - 1) for x in e if x["ev"] == "fault_applied"]' "e=$T/corrupt.jsonl")
[ "$v" = '[[3, "c2s", true]]' ] && ok "corrupt: events report record 3, c2s, last body byte" ||
	bad "corrupt: events report record 3, c2s, last body byte" "$v"

# ---- 5. rst ------------------------------------------------------------------------

start_proxy rst "$ECHO_PORT" --fraction 1 --faults rst --after-bytes 3000 --dir c2s
client "$PORT" send=100000 chunk=1000 interval_ms=5
if [ "$(r recv_error)" = ECONNRESET ] || [ "$(r send_error)" = ECONNRESET ]; then
	ok "rst: client gets ECONNRESET (received $(r recv) bytes)"
else
	bad "rst: client gets ECONNRESET" "$R"
fi
lport=$(r lport)
stop_proxy rst
v=$(q "[(x['reason'], x['first_close'], x['c2s_bytes']) for x in e if x['ev'] == 'closed' and x['cport'] == $lport]" "e=$T/rst.jsonl")
[ "$v" = '[["fault-rst", "proxy", 3000]]' ] && ok "rst: closed event: fault-rst by proxy after exactly 3000 c2s bytes" ||
	bad "rst: closed event: fault-rst by proxy after exactly 3000 c2s bytes" "$v"
sleep 0.3
uport=$(q "[x['uport'] for x in e if x['ev'] == 'accepted'][0]" "e=$T/rst.jsonl")
v=$(awk -v p="$uport" '$1 == p { print $2, $3 }' "$T/echo.log")
[ "$v" = "3000 ECONNRESET" ] && ok "rst: upstream got exactly 3000 bytes, then ECONNRESET" ||
	bad "rst: upstream got exactly 3000 bytes, then ECONNRESET" "got: '$v'"

# ---- 6. truncate ---------------------------------------------------------------

start_proxy trunc "$ECHO_PORT" --fraction 1 --faults truncate --after-bytes 5000 --dir s2c
client "$PORT" send=20000 chunk=20000
if [ "$(r recv)" = 5000 ] && [ "$(r match)" = True ] && [ "$(r eof)" = True ] &&
   [ "$(r recv_error)" = None ]; then
	ok "truncate: client gets exactly the first 5000 bytes, then a clean FIN"
else
	bad "truncate: client gets exactly the first 5000 bytes, then a clean FIN" "$R"
fi
stop_proxy trunc

# ---- 7. drop-after-hello -----------------------------------------------------------

start_proxy drop "$TLS_PORT" --fraction 1 --faults drop-after-hello
s_client drop "$PORT"
if ! grep -q "HTTP/1.0" "$T/drop.sc" && grep -q "Cipher is (NONE)" "$T/drop.sc"; then
	ok "drop-after-hello: the TLS handshake never completes"
else
	bad "drop-after-hello: the TLS handshake never completes" "$(tail -5 "$T/drop.sc")"
fi
stop_proxy drop
v=$(q "[(x['c2s_records'], x['c2s_bytes'] > 100, x['c2s_bytes'] == f[0]['c2s_bytes'], x['s2c_bytes'], x['reason']) for x in e if x['ev'] == 'closed' for f in [[y for y in e if y['ev'] == 'fault_applied']]]" "e=$T/drop.jsonl")
[ "$v" = '[[1, true, true, 0, "fault-drop-after-hello"]]' ] && ok "drop-after-hello: only the ClientHello went upstream, nothing came back" ||
	bad "drop-after-hello: only the ClientHello went upstream, nothing came back" "$v"

start_proxy droprst "$ECHO_PORT" --fraction 1 --faults drop-after-hello --drop-mode rst
client "$PORT" send=5000 hello=300 chunk=100 interval_ms=2
[ "$(r recv_error)" = ECONNRESET ] || [ "$(r send_error)" = ECONNRESET ] &&
	ok "drop-after-hello --drop-mode rst: client gets ECONNRESET" ||
	bad "drop-after-hello --drop-mode rst: client gets ECONNRESET" "$R"
stop_proxy droprst
sleep 0.2
uport=$(q "[x['uport'] for x in e if x['ev'] == 'accepted'][0]" "e=$T/droprst.jsonl")
v=$(awk -v p="$uport" '$1 == p { print $2 }' "$T/echo.log")
[ "$v" = 305 ] && ok "drop-after-hello: upstream got exactly the 305-byte hello record" ||
	bad "drop-after-hello: upstream got exactly the 305-byte hello record" "got: '$v'"

# ---- 8. blackhole ---------------------------------------------------------------

start_proxy bh "$ECHO_PORT" --fraction 1 --faults blackhole --after-bytes 1000 \
	--dir c2s --blackhole-ms 3000
client "$PORT" send=64000000 chunk=65536 timeout=1.5
if [ "$(r recv_error)" = timeout ] && [ "$(r send_error)" = timeout ] &&
   [ "$(r eof)" = False ] && [ "$(r recv)" -le 1000 ] && [ "$(r sent)" -lt 64000000 ]; then
	ok "blackhole: no data, no EOF, no RST for 1.5 s and the sender blocks (sent $(r sent))"
else
	bad "blackhole: no data, no EOF, no RST for 1.5 s and the sender blocks" "$R"
fi
sleep 2
uport=$(q "[x['uport'] for x in e if x['ev'] == 'accepted'][0]" "e=$T/bh.jsonl")
v=$(awk -v p="$uport" '$1 == p { print $2 }' "$T/echo.log")
[ "$v" = 1000 ] && ok "blackhole: upstream got exactly 1000 bytes, closed after --blackhole-ms" ||
	bad "blackhole: upstream got exactly 1000 bytes, closed after --blackhole-ms" "got: '$v'"
stop_proxy bh
v=$(q "[x['reason'] for x in e if x['ev'] == 'closed']" "e=$T/bh.jsonl")
[ "$v" = '["blackhole-end"]' ] && ok "blackhole: closed event says blackhole-end" ||
	bad "blackhole: closed event says blackhole-end" "$v"

# ---- 9. stall and delay -----------------------------------------------------------

start_proxy stall "$ECHO_PORT" --fraction 1 --faults stall --after-bytes 1000 --stall-ms 800
client "$PORT" send=4000 chunk=500 interval_ms=20
e=$(r elapsed)
if [ "$(r full)" = True ] && python3 -c "import sys; sys.exit(not 0.8 <= $e < 3)"; then
	ok "stall: byte-exact after a pause, took $e s (>= 0.8)"
else
	bad "stall: byte-exact after a pause" "$R"
fi
stop_proxy stall

start_proxy delay "$ECHO_PORT" --fraction 1 --faults delay --delay-ms 300
client "$PORT" send=10 chunk=10
e=$(r t_last)
if [ "$(r full)" = True ] && python3 -c "import sys; sys.exit(not 0.6 <= $e < 2)"; then
	ok "delay: 300 ms each way, echo arrived after $e s (>= 0.6)"
else
	bad "delay: 300 ms each way" "$R"
fi
stop_proxy delay

# ---- 10. --fault-conn and the events file ---------------------------------------

start_proxy fc "$ECHO_PORT" --fault-conn 1 --faults rst --after-bytes 2000
results=()
for i in 0 1 2; do
	client "$PORT" send=20000 chunk=1000 interval_ms=1
	results+=("$R")
done
stop_proxy fc
R=${results[0]}; a0=$(r full)
R=${results[1]}; a1=$(r full); lp1=$(r lport)
R=${results[2]}; a2=$(r full)
[ "$a0 $a1 $a2" = "True False True" ] && ok "--fault-conn 1: only the second connection is broken" ||
	bad "--fault-conn 1: only the second connection is broken" "full: $a0 $a1 $a2"
v=$(q "[(x['conn'], x['fault']) for x in e if x['ev'] == 'accepted']" "e=$T/fc.jsonl")
[ "$v" = '[[0, "none"], [1, "rst"], [2, "none"]]' ] && ok "--fault-conn 1: plan in events is none, rst, none" ||
	bad "--fault-conn 1: plan in events is none, rst, none" "$v"
v=$(q "[(x['conn'], x['cport']) for x in e if x['ev'] == 'fault_applied']" "e=$T/fc.jsonl")
[ "$v" = "[[1, $lp1]]" ] && ok "events: fault_applied names conn 1 and the client's own port $lp1" ||
	bad "events: fault_applied names conn 1 and the client's own port $lp1" "$v"
v=$(q '[s["faults"]["rst"]["planned"], s["faults"]["rst"]["applied"], s["connections"]["total"]]' "s=$T/fc.json")
[ "$v" = "[1, 1, 3]" ] && ok "summary: rst planned 1, applied 1, 3 connections" ||
	bad "summary: rst planned 1, applied 1, 3 connections" "$v"

# ---- 11. same seed, same plan ---------------------------------------------------

plan_run() {	# plan_run NAME SEED: 24 short connections
	start_proxy "$1" "$ECHO_PORT" --seed "$2" --fraction 0.5 \
		--faults corrupt,stall,delay,rst,blackhole --after-bytes 100000-200000 \
		--delay-ms 1-3 --stall-ms 1-5 --record 2-9
	H client "$PORT" send=10 chunk=10 repeat=24 >/dev/null
	stop_proxy "$1"
	q "[[x[k] for k in sorted(x) if k not in ('t', 'cport', 'uport', 'client')] for x in e if x['ev'] == 'accepted']" \
		"e=$T/$1.jsonl" >"$T/$1.plan"
}
plan_run seed1 42
plan_run seed2 42
plan_run seed3 43
nf=$(grep -o '"none"' "$T/seed1.plan" | wc -l)
if [ -s "$T/seed1.plan" ] && cmp -s "$T/seed1.plan" "$T/seed2.plan" &&
   [ "$nf" -gt 0 ] && [ "$nf" -lt 24 ]; then
	ok "seed 42 twice: identical plans ($((24 - nf)) of 24 connections faulted)"
else
	bad "seed 42 twice: identical plans" "$(head -c 300 "$T/seed1.plan") vs $(head -c 300 "$T/seed2.plan")"
fi
cmp -s "$T/seed1.plan" "$T/seed3.plan" && bad "seed 43 gives a different plan" ||
	ok "seed 43 gives a different plan"

# ---- 12. upstream failure, duration -----------------------------------------------

dead=$(H freeport)
start_proxy upfail "$dead"
client "$PORT" send=100 timeout=3
[ "$(r recv)" = 0 ] && { [ "$(r recv_error)" = ECONNRESET ] || [ "$(r eof)" = True ]; } &&
	ok "upstream refused: the client is closed at once" ||
	bad "upstream refused: the client is closed at once" "$R"
stop_proxy upfail
v=$(q "[x['ev'] for x in e if x['ev'] in ('upstream_failed', 'closed')]" "e=$T/upfail.jsonl")
[ "$v" = '["upstream_failed", "closed"]' ] && ok "upstream refused: reported as upstream_failed" ||
	bad "upstream refused: reported as upstream_failed" "$v"

t0=$(date +%s.%N)
timeout $((10 * SLOW)) $WRAP "$PROXY" --listen 127.0.0.1:0 --upstream "127.0.0.1:$ECHO_PORT" \
	--duration 1 --json "$T/dur.json" 2>"$T/dur.err"
rc=$?
t1=$(date +%s.%N)
if [ $rc -eq 0 ] && [ "$(q 's["exit_reason"]' "s=$T/dur.json")" = duration ] &&
   python3 -c "import sys; sys.exit(not 0.9 <= $t1 - $t0 < 1.5 * $SLOW)"; then
	ok "--duration 1: exits on its own after ~1 s with a summary"
else
	bad "--duration 1: exits on its own after ~1 s with a summary" "rc=$rc $(cat "$T/dur.err")"
fi

echo "# $CHECKS checks, $FAILS failed"
[ $FAILS -gt 100 ] && FAILS=100
exit $FAILS
