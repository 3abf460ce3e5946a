#!/usr/bin/env bash
# Milter benchmark (design.md §7, issue 11): one private Postfix on loopback, three smtpd
# listeners side by side in the same run —
#   none    no filter
#   milter  smtpd_milters = inet:127.0.0.1:PORT (`ximf milter`, verify + annotate at SMTP time)
#   pipe    content_filter = ximf:dummy, the README's pipe(8) filter (testdata/mailflow/ximf-filter,
#           reinjecting over SMTP into a filter-less smtpd, as tests/mailflow_postfix.rs does)
# — for small S/MIME-signed messages and 1 MiB ones (signed by Alice, verified against the test
# root, so every message passes and is delivered annotated).
#
# Throughput: smtp-source sends N messages over S parallel sessions; messages/s is N over the
# time until the last one is in the Maildir (the pipe filter works after the client is told 250,
# so the client's view alone would flatter it). Latency: one message at a time with
# `smtp-source -m 1`, from its start until the message is delivered; p50 and p99. Also the
# milter's peak RSS. Needs root (Postfix's master, pipe(8) running as nobody), postfix,
# smtp-source and python3 (scripts/setup.sh installs them).
#
# Memory: MEM_N (default 50) signed messages of MEM_MIB (10) MiB sent over MEM_N parallel sessions
# through the milter, and its peak RSS (VmHWM) against the bound the README documents.
#
# Environment: N_SMALL (default 400), N_BIG (40), LAT_SMALL (100), LAT_BIG (20), SESSIONS (8),
# MEM_N (50), MEM_MIB (10).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "benches/milter.sh: needs root to start a private Postfix" >&2
  exit 1
fi
N_SMALL=${N_SMALL:-400} N_BIG=${N_BIG:-40} LAT_SMALL=${LAT_SMALL:-100} LAT_BIG=${LAT_BIG:-20}
SESSIONS=${SESSIONS:-8} MEM_N=${MEM_N:-50} MEM_MIB=${MEM_MIB:-10}
K=testdata/keys/smime
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
W=$(mktemp -d /tmp/ximf-bench.XXXXXX)
chmod 755 "$W"
MILTER_PID=
cleanup() {
  [ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null || true
  postfix -c "$W/postfix" stop >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

# Everything pipe(8)'s user (nobody) runs or reads lives in $W.
install -m 755 "$TARGET/release/ximf" "$W/ximf"
install -m 644 $K/root.crt "$W/root.crt"
cp -r profiles/builtin "$W/profile" && chmod -R a+rX "$W/profile"
XIMF="$W/ximf"
# verify takes the trust anchor after its own flags.
cat >"$W/ximf-ca" <<EOF
#!/bin/sh
exec $XIMF "\$@" --ca $W/root.crt --no-system-ca
EOF
chmod 755 "$W/ximf-ca"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_NONE=$(port) P_MILTER=$(port) P_PIPE=$(port) P_REINJECT=$(port) P_XIMF=$(port)

# Messages: the built-in Example instance, stamped, signed by Alice.
make_msg() { # NAME BODY_BYTES
  python3 - "$W/$1.txt" "$2" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
head = ("From: Alice Example <alice@example.org>\nTo: Bob Example <bob@example.org>\n"
        "Subject: Quarterly figures\nDate: Sat, 06 Jun 2009 16:10:00 +0000\n"
        "Message-ID: <20090606161000.1@example.org>\n\n")
line = "Hello Bob, the figures follow; all good and all accounted for, line by line.\n"
body = "Hello Bob,\n" + line * max(0, size // len(line))
open(path, "w").write(head + body)
PY
  "$XIMF" stamp --set X-XIMF-Security-Classification=example-restricted \
    --set X-XIMF-Primary-Precedence=routine "$W/$1.txt" \
    | "$XIMF" protect --sign --key $K/alice.key --cert $K/alice.chain.pem >"$W/$1.eml"
  "$W/ximf-ca" -p "$W/profile" verify "$W/$1.eml" >/dev/null
}
make_msg small 1024
make_msg big 1048576
make_msg mem $((MEM_MIB * 1048576))

# The pipe(8) filter as shipped, pointed at this ximf and profile, reinjecting over SMTP.
cat >"$W/reinject" <<EOF
#!/bin/bash
# Stand-in for \`sendmail -G -i -f SENDER -- RCPT...\`: the same message over SMTP.
set -u
sender= rcpts=()
while [ \$# -gt 0 ]; do
  case \$1 in -G|-i) shift ;; -f) sender=\$2; shift 2 ;; --) shift; rcpts+=("\$@"); break ;; *) rcpts+=("\$1"); shift ;; esac
done
exec 3<>/dev/tcp/127.0.0.1/$P_REINJECT || exit 75
expect() { while IFS= read -r line <&3; do case \$line in "\$1-"*) ;; "\$1"*) return 0 ;; *) echo "reinject: \$line" >&2; exit 75 ;; esac; done; exit 75; }
expect 220
printf 'EHLO filter.example.net\r\n' >&3; expect 250
printf 'MAIL FROM:<%s>\r\n' "\$sender" >&3; expect 250
for r in "\${rcpts[@]}"; do printf 'RCPT TO:<%s>\r\n' "\$r" >&3; expect 250; done
printf 'DATA\r\n' >&3; expect 354
sed -e 's/\r\$//' -e 's/^\./../' -e 's/\$/\r/' >&3
printf '.\r\n' >&3; expect 250
printf 'QUIT\r\n' >&3
EOF
chmod 755 "$W/reinject"
sed -e "s|^XIMF=.*|XIMF=$W/ximf-ca|" -e "s|^XIMF_PROFILE=.*|XIMF_PROFILE=$W/profile|" \
  -e "s|^AUTHSERV_ID=.*|AUTHSERV_ID=mx.example.net|" \
  -e "s|^SENDMAIL=.*|SENDMAIL=\"$W/reinject -G -i\"|" testdata/mailflow/ximf-filter >"$W/ximf-filter"
chmod 755 "$W/ximf-filter"

# A private Postfix (the layout of tests/mailflow_support): mail for example.org lands in
# $W/mail/bob/ through virtual(8).
mkdir -p "$W/postfix" "$W/spool" "$W/data" "$W/mail"
chmod 755 "$W/postfix" "$W/spool" "$W/data" "$W/mail"
chown postfix:postfix "$W/data"
chown 65534:65534 "$W/mail"
cat >"$W/postfix/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $W/spool
data_directory = $W/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.example.net
mydomain = example.net
myorigin = example.net
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
virtual_mailbox_domains = example.org
virtual_mailbox_base = $W/mail
virtual_mailbox_maps = static:bob/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
maillog_file = $W/maillog
maillog_file_prefixes = $W
smtputf8_enable = no
message_size_limit = $(((MEM_MIB + 1) * 1048576))
milter_default_action = tempfail
EOF
grep -v -e '^smtp      inet' -e '^postlog ' /etc/postfix/master.cf >"$W/postfix/master.cf"
cat >>"$W/postfix/master.cf" <<EOF
postlog   unix-dgram n  -       n       -       1       postlogd
127.0.0.1:$P_NONE inet n - n - - smtpd
127.0.0.1:$P_MILTER inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$P_XIMF
127.0.0.1:$P_PIPE inet n - n - - smtpd
  -o content_filter=ximf:dummy
127.0.0.1:$P_REINJECT inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks
ximf      unix  -       n       n       -       10      pipe
  flags=Rq user=nobody null_sender=
  argv=$W/ximf-filter -f \${sender} -- \${recipient}
EOF
[ -f /etc/postfix/dynamicmaps.cf ] && cp /etc/postfix/dynamicmaps.cf "$W/postfix/"
postfix -c "$W/postfix" start >/dev/null 2>&1

"$XIMF" -p "$W/profile" milter --socket "inet:127.0.0.1:$P_XIMF" --authserv-id mx.example.net \
  --ca "$W/root.crt" --no-system-ca 2>"$W/milter.log" &
MILTER_PID=$!
python3 - "$P_XIMF" <<'PY'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close(); break
    except OSError:
        time.sleep(0.05)
PY

python3 - "$W" "$SESSIONS" "$N_SMALL" "$N_BIG" "$LAT_SMALL" "$LAT_BIG" \
  "none:$P_NONE" "milter:$P_MILTER" "pipe:$P_PIPE" <<'PY'
import os, subprocess, sys, time
W, sessions = sys.argv[1], int(sys.argv[2])
counts = {"small": int(sys.argv[3]), "big": int(sys.argv[4])}
lat = {"small": int(sys.argv[5]), "big": int(sys.argv[6])}
modes = [(m.split(":")[0], int(m.split(":")[1])) for m in sys.argv[7:]]
box = os.path.join(W, "mail", "bob")

def delivered():
    n = 0
    for sub in ("new", "cur"):
        try:
            n += len(os.listdir(os.path.join(box, sub)))
        except FileNotFoundError:
            pass
    return n

def clear():
    for sub in ("new", "cur"):
        d = os.path.join(box, sub)
        if os.path.isdir(d):
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))

def wait_for(n, limit=600):
    start = time.monotonic()
    while delivered() < n:
        if time.monotonic() - start > limit:
            sys.exit(f"timed out: {delivered()} of {n} delivered")
        time.sleep(0.0005)

def source(port, msg, m, s):
    subprocess.run(["smtp-source", "-4", "-s", str(s), "-m", str(m), "-f", "alice@example.org",
                    "-t", "bob@example.org", "-F", msg, f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL)

def check_annotated(mode):
    d = os.path.join(box, "new")
    f = sorted(os.listdir(d))[0]
    head = open(os.path.join(d, f), "rb").read().split(b"\n\n")[0]
    verdicts = [l for l in head.split(b"\n") if l.startswith(b"X-XIMF-Verify: ")]
    want = 0 if mode == "none" else 1
    if len(verdicts) != want or (want and not verdicts[0].startswith(b"X-XIMF-Verify: pass")):
        sys.exit(f"{mode}: unexpected verdict fields {verdicts}")

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

rows = {}
for kind in ("small", "big"):
    msg = os.path.join(W, f"{kind}.eml")
    for mode, port in modes:
        clear()
        source(port, msg, 2, 1)  # warm up: processes started, caches filled
        wait_for(2)
        check_annotated(mode)
        clear()
        n = counts[kind]
        t0 = time.monotonic()
        source(port, msg, n, sessions)
        wait_for(n)
        rate = n / (time.monotonic() - t0)
        clear()
        times = []
        for i in range(lat[kind]):
            t0 = time.monotonic()
            source(port, msg, 1, 1)
            wait_for(i + 1)
            times.append((time.monotonic() - t0) * 1000)
        rows[(kind, mode)] = (rate, pct(times, 50), pct(times, 99))

size = {k: os.path.getsize(os.path.join(W, f"{k}.eml")) for k in ("small", "big")}
print(f"{'message':<16} {'path':<7} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'msg/s vs none':>14} {'vs pipe':>8}")
for kind in ("small", "big"):
    label = f"{kind} ({size[kind] // 1024} KiB)"
    for mode, _ in modes:
        rate, p50, p99 = rows[(kind, mode)]
        vs_none = rate / rows[(kind, "none")][0]
        vs_pipe = rate / rows[(kind, "pipe")][0]
        print(f"{label:<16} {mode:<7} {rate:8.1f} {p50:8.1f} {p99:8.1f} {vs_none:13.2f}x {vs_pipe:7.2f}x")
PY
rss=$(awk '/VmHWM/ {print $2}' /proc/"$MILTER_PID"/status)
echo "ximf milter peak RSS after the runs above: $((rss / 1024)) MiB"

# Memory: MEM_N messages of MEM_MIB MiB at once through the milter.
rm -f "$W"/mail/bob/new/* "$W"/mail/bob/cur/*
size=$(stat -c %s "$W/mem.eml")
start=$(date +%s.%N)
smtp-source -4 -s "$MEM_N" -m "$MEM_N" -f alice@example.org -t bob@example.org -F "$W/mem.eml" \
  "127.0.0.1:$P_MILTER" >/dev/null
python3 - "$W/mail/bob/new" "$MEM_N" <<'PY'
import os, sys, time
t = time.monotonic()
while len(os.listdir(sys.argv[1])) < int(sys.argv[2]):
    if time.monotonic() - t > 600:
        sys.exit("memory run: not all delivered")
    time.sleep(0.01)
PY
secs=$(python3 -c "import time; print(time.time() - $start)")
verdicts=$(grep -l '^X-XIMF-Verify: pass' "$W"/mail/bob/new/* | wc -l)
rss=$(awk '/VmHWM/ {print $2}' /proc/"$MILTER_PID"/status)
python3 - "$MEM_N" "$size" "$rss" "$secs" "$verdicts" <<'PY'
import sys
n, size, rss, secs, ok = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) * 1024, float(sys.argv[4]), int(sys.argv[5])
bound = n * (size + (1 << 20))
print(f"{n} x {size / 2**20:.1f} MiB signed messages over {n} sessions: {secs:.1f} s, {ok} delivered "
      f"with pass; milter peak RSS {rss / 2**20:.0f} MiB "
      f"(bound: sessions x (message + 1 MiB) = {bound / 2**20:.0f} MiB)")
PY
if grep -q . "$W/milter.log"; then
  echo "milter log:" && head -5 "$W/milter.log"
fi
