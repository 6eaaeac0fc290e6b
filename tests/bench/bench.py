#!/usr/bin/env python3
"""The side-by-side benchmark: postoffice against Dovecot's POP3 server.

    python3 tests/bench/bench.py [--rounds N] [--smoke] [--only NAMES]

Generates the maildrops once (cached in $BENCH_DIR, default build/bench/data;
a smoke run uses a fresh temporary folder),
starts postoffice ($POSTOFFICE) and Dovecot (`dovecot -F` with a private
config on a loopback port) over the same Maildirs and same-content mbox
files, runs every scenario with tests/bench/loadgen ($LOADGEN) interleaved
(A B, then B A, ...), and prints the median of each figure for each server
and the ratio postoffice / Dovecot.

--smoke: tiny maildrops, one round; checks only that every scenario ran
against both servers with the right message and octet counts (no timing).
--dovecot-tuned: Dovecot's high-performance login mode instead of its
defaults.  postoffice runs with its defaults.
"""
import argparse
import hashlib
import os
import pwd
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PASSWORD = "pw"
STORM_USERS = 64            # storm sessions spread over this many maildrops

FULL = dict(big=(20, 5 * 1000 * 1000), sizes=(1000, 10000, 100000),
            sessions=(10, 100, 1000), storm=(1, 4, 32),
            storm_sessions=1500, rounds=5)
SMOKE = dict(big=(3, 100 * 1000), sizes=(50, 200), sessions=(10,),
             storm=(1, 4, 32), storm_sessions=64, rounds=1)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def message(rng, i, body_octets):
    """One RFC 5322 message of about BODY_OCTETS, LF line ends, with a
    dot-led line so dot-stuffing is exercised and a quoted From line."""
    head = ("Return-Path: <sender%d@example.org>\n"
            "Received: from mx.example.org by bench.example; Mon, 23 Nov 2026 10:00:00 +0000\n"
            "From: Sender %d <sender%d@example.org>\n"
            "To: user@bench.example\n"
            "Subject: benchmark message %d\n"
            "Message-ID: <%d.%d@example.org>\n"
            "Date: Mon, 23 Nov 2026 10:00:00 +0000\n\n") % (i, i, i, i, i, rng.randrange(1 << 30))
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "postoffice", "maildrop",
             "delivery", "protocol", "octet", "server", "session")
    lines = [".a line that starts with a dot", ">From the quoted envelope"]
    n = len(head) + 60
    line = []
    while n < body_octets:
        w = words[rng.randrange(len(words))]
        line.append(w)
        n += len(w) + 1
        if len(line) >= 12:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return (head + "\n".join(lines) + "\n").encode()


def big_message(i, octets):
    line = (("%05d " % i) + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" * 2)[:76] + "\n"
    head = ("From: big@example.org\nTo: user@bench.example\n"
            "Subject: big %d\n\n" % i)
    body = line * ((octets - len(head)) // len(line))
    return (head + body).encode()


def write_maildir(path, msgs):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for i, m in enumerate(msgs):
        name = "%d.M%dP1.bench:2," % (1700000000 + i, i)
        with open(os.path.join(path, "cur", name), "wb") as f:
            f.write(m)


def write_mbox(path, msgs):
    with open(path, "wb") as f:
        for m in msgs:
            f.write(b"From sender@example.org Mon Nov 23 10:00:00 2026\n")
            f.write(m)
            f.write(b"\n")


def small_msgs(n, seed):
    rng = random.Random(seed)
    return (message(rng, i, rng.choice((600, 1500, 3000, 8000)))
            for i in range(n))


def generate(data, prof):
    """Builds DATA/maildrops (shared by both servers), DATA/dovecot-mbox
    (pristine mbox copies Dovecot works on) and DATA/passwd, once."""
    stamp = os.path.join(data, "generated")
    if os.path.exists(stamp):
        return
    log("bench: generating maildrops in %s (once)" % data)
    shutil.rmtree(data, ignore_errors=True)
    drops = os.path.join(data, "maildrops")
    pristine = os.path.join(data, "pristine")
    os.makedirs(drops)
    os.makedirs(pristine)
    nusers = max(max(prof["sessions"]), STORM_USERS)
    for u in range(nusers):
        write_maildir(os.path.join(drops, "u%d" % u), list(small_msgs(2, u)))
    nbig, octets = prof["big"]
    write_maildir(os.path.join(drops, "big"),
                  [big_message(i, octets) for i in range(nbig)])
    for n in prof["sizes"]:
        write_maildir(os.path.join(drops, "md%d" % n), small_msgs(n, n))
        write_mbox(os.path.join(pristine, "mb%d" % n), small_msgs(n, n))
    with open(stamp, "w") as f:
        f.write("%r\n" % (prof,))


def users(prof):
    names = ["u%d" % u for u in range(max(max(prof["sessions"]), STORM_USERS))]
    names.append("big")
    for n in prof["sizes"]:
        names += ["md%d" % n, "mb%d" % n]
    return names


def mail_owner():
    """Dovecot will not run mail processes as root: as root the data
    belongs to nobody; otherwise everything runs as the caller."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid, None
    pw = pwd.getpwuid(os.getuid())
    return pw.pw_uid, pw.pw_gid, pw.pw_name


def reachable(path, uid):
    """True if every folder above PATH lets UID pass (o+x, or its own)."""
    p = os.path.dirname(os.path.abspath(path))
    while True:
        st = os.stat(p)
        if not (st.st_mode & 0o001 or (st.st_uid == uid and st.st_mode & 0o100)):
            return False
        if p == "/":
            return True
        p = os.path.dirname(p)


def chown_tree(path, uid, gid):
    if os.geteuid() != 0:
        return
    os.chown(path, uid, gid)
    for d, dirs, files in os.walk(path):
        for n in dirs + files:
            os.chown(os.path.join(d, n), uid, gid)


# ---------------------------------------------------------------- servers

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tree(pid):
    """PID and all its descendants, from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def memory(pid):
    """(processes, summed Pss KiB, summed Rss KiB) of PID's tree."""
    n = pss = rss = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                text = f.read()
        except OSError:
            continue
        m1 = re.search(r"^Pss:\s+(\d+)", text, re.M)
        m2 = re.search(r"^Rss:\s+(\d+)", text, re.M)
        if m1 and m2:
            n += 1
            pss += int(m1.group(1))
            rss += int(m2.group(1))
    return n, pss, rss


class Server:
    """A server process started by start(), with its log in self.logf."""

    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


class Postoffice(Server):
    name = "postoffice"

    def __init__(self, data, binary):
        self.data, self.binary = data, binary
        self.dir = os.path.join(data, "run-postoffice")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "postoffice.conf")
        with open(self.conf, "w") as f:
            f.write("listen pop3 127.0.0.1:0\nlisten pop2 127.0.0.1:0\n"
                    "passwd %s/passwd\nmailbox %s/maildrops/%%u\n"
                    "hostname bench.example\n"
                    # 1,000 idle sessions from one address: raised from
                    # the defaults (500 in all, 50 per address), as
                    # Dovecot's process limits are.
                    "max_sessions 2000\nmax_sessions_per_host 2000\n"
                    % (self.dir, data))
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for u in users_of(data):
                f.write("%s:{PLAIN}%s\n" % (u, PASSWORD))

    def mailbox(self, user):
        return os.path.join(self.data, "maildrops", user)

    def start(self):
        self.logf = open(os.path.join(self.dir, "log"), "w+b")
        self.proc = subprocess.Popen([self.binary, "serve", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        deadline = time.time() + 10
        ports = {}
        while len(ports) < 2 and time.time() < deadline:
            with open(self.logf.name, "rb") as f:
                text = f.read()
            ports = dict((k.decode(), int(v)) for k, v in re.findall(
                rb"listening (pop3|pop2) [^ \n]*:(\d+)\n", text))
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if len(ports) < 2:
            self.stop()
            raise RuntimeError("postoffice did not start: %r" % text[-2000:])
        self.pop3, self.pop2 = ports["pop3"], ports["pop2"]

    def forget(self, user):
        """Removes whatever the server keeps beside the messages (locks,
        caches, indexes) so the next session is a first session."""
        path = self.mailbox(user)
        if os.path.isdir(path):
            for n in os.listdir(path):
                if n not in ("cur", "new", "tmp"):
                    rm(os.path.join(path, n))
        else:
            d, base = os.path.split(self.mailbox(user))
            for n in os.listdir(d):
                if n.startswith(base + "."):
                    rm(os.path.join(d, n))
            shutil.copyfile(os.path.join(self.data, "pristine", user), path)


class Dovecot(Server):
    name = "dovecot"

    def __init__(self, data, tuned=False):
        self.data = data
        self.dir = os.path.join(data, "run-dovecot")
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        uid, gid, login = mail_owner()
        self.port = free_port()
        nproc = 2 * max(1100, len(users_of(data))) + 100
        drops = os.path.join(data, "maildrops")
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for u in users_of(data):
                home = os.path.join(self.dir, "home", u)
                os.makedirs(home)
                if os.path.isdir(os.path.join(drops, u)):
                    mail = "maildir:%s/%s:INDEX=%s/index:CONTROL=%s/control" % (
                        drops, u, home, home)
                else:
                    mail = "mbox:%s/mail:INBOX=%s/inbox:INDEX=%s/index" % (
                        home, home, home)
                f.write("%s:{PLAIN}%s:%d:%d::%s::userdb_mail=%s\n"
                        % (u, PASSWORD, uid, gid, home, mail))
        users_line = ""
        if login:
            users_line = ("default_internal_user = %s\ndefault_login_user = %s\n"
                          "default_internal_group = %s\n" % (login, login, login))
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("""# private Dovecot for the benchmark; everything else at its defaults
base_dir = {d}/run
state_dir = {d}/state
instance_name = bench{port}
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {d}/log
first_valid_uid = {uid}
{users}default_process_limit = {nproc}
default_client_limit = {nclient}
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port}
  }}
{tuning}}}
""".format(d=self.dir, port=self.port, uid=min(uid, 500), users=users_line,
           nproc=nproc, nclient=2 * nproc, tuning=TUNED if tuned else ""))
        chown_tree(os.path.join(self.dir, "home"), uid, gid)

    def mailbox(self, user):
        return os.path.join(self.dir, "home", user, "inbox")

    def start(self):
        self.logf = open(os.path.join(self.dir, "stdout"), "w+b")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                self.pop3 = self.port
                return
            except OSError:
                time.sleep(0.1)
        out = open(os.path.join(self.dir, "stdout"), "rb").read()
        self.stop()
        raise RuntimeError("dovecot did not start: %r" % out[-2000:])

    def forget(self, user):
        home = os.path.join(self.dir, "home", user)
        for n in ("index", "control", "mail"):
            rm(os.path.join(home, n))
        for n in os.listdir(home):
            if n.startswith("inbox"):
                rm(os.path.join(home, n))
        pristine = os.path.join(self.data, "pristine", user)
        if os.path.exists(pristine):
            shutil.copyfile(pristine, os.path.join(home, "inbox"))
        uid, gid, _ = mail_owner()
        chown_tree(home, uid, gid)


# Dovecot's documented "high-performance" login mode: long-lived login
# processes that each serve many connections (--dovecot-tuned).
TUNED = """  service_count = 0
  process_min_avail = 2
"""


def rm(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def users_of(data):
    with open(os.path.join(data, "users")) as f:
        return f.read().split()


# ---------------------------------------------------------------- scenarios

def loadgen(*args, check=True):
    p = subprocess.run([LOADGEN] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError("loadgen %s: %s" % (" ".join(map(str, args)),
                                                p.stderr.strip()[-1000:]))
    kv = dict(re.findall(r"(\w+)=([\d.]+)", p.stdout))
    out = {k: float(v) for k, v in kv.items()}
    if check and out.get("errors", 0):
        raise RuntimeError("loadgen %s reported errors: %s%s" % (
            " ".join(map(str, args)), p.stdout, p.stderr[-1000:]))
    return out


def wait_sessions_gone(srv, base_procs, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if memory(srv.pid())[0] <= base_procs:
            return
        time.sleep(0.2)


def idle_memory(srv, n, base):
    p = subprocess.Popen([LOADGEN, "idle", str(srv.pop3), str(n), "u", PASSWORD],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.match(r"ready (\d+) errors=(\d+)", line)
    if not m or int(m.group(1)) != n or int(m.group(2)):
        p.kill()
        raise RuntimeError("idle %d on %s: %r %s" % (n, srv.name, line,
                                                     p.stderr.read()[-1000:]))
    time.sleep(0.5)           # let login processes finish handing over
    procs, pss, rss = memory(srv.pid())
    p.stdin.write("done\n")
    p.stdin.close()
    p.wait(timeout=60)
    wait_sessions_gone(srv, base[0])
    return {"procs": procs, "pss_kib": pss, "rss_kib": rss,
            "pss_per_session_kib": (pss - base[1]) / n,
            "rss_per_session_kib": (rss - base[2]) / n}


def big_label(prof):
    n, octets = prof["big"]
    return "%dx%gMB" % (n, octets / 1e6)


def warm(path):
    """Reads every file under PATH once, so that a throughput figure
    measures sending from the page cache, not the disk: this machine's
    kernel pages out page cache left idle for a minute (DAMON's
    "pageout" scheme), and a round takes longer than that."""
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def run_round(srv, prof, results, only):
    def put(key, value):
        results.setdefault(key, {}).setdefault(srv.name, []).append(value)

    def want(name):
        return not only or any(name.startswith(o) for o in only)

    if want("storm"):
        for c in prof["storm"]:
            r = loadgen("storm", srv.pop3, c, prof["storm_sessions"], "u",
                        STORM_USERS, PASSWORD)
            if r["sessions"] != prof["storm_sessions"]:
                raise RuntimeError("storm: %r" % r)
            put("storm c=%d sessions/s" % c, r["rate"])
    if want("retr"):
        nbig, _ = prof["big"]
        warm(os.path.join(srv.data, "maildrops", "big"))  # both servers read it
        r = loadgen("retr", srv.pop3, "big", PASSWORD)
        if r["msgs"] != nbig or r["octets"] != r["expected"]:
            raise RuntimeError("retr: %r" % r)
        put("RETR %s MB/s" % big_label(prof), r["mbps"])
        results.setdefault("octets", r["octets"])
        # The ceiling moves with the machine's load from minute to
        # minute, so it is also measured right after each server's RETR
        # and the ratio taken within that pair.
        c = loadgen("ceiling", int(r["octets"]), nbig)
        results.setdefault("ceiling", []).append(c["mbps"])
        results.setdefault("paired", {}).setdefault(srv.name, []).append(
            r["mbps"] / c["mbps"])
    if want("list"):
        for n in prof["sizes"]:
            for fmt, user in (("Maildir", "md%d" % n), ("mbox", "mb%d" % n)):
                srv.forget(user)
                for which in ("first", "second"):
                    r = loadgen("list", srv.pop3, user, PASSWORD)
                    if r["msgs"] != n:
                        raise RuntimeError("list %s: %r" % (user, r))
                    put("STAT+LIST+UIDL %s %d %s s" % (fmt, n, which),
                        r["seconds"])
    if want("mem"):
        time.sleep(0.3)
        base = memory(srv.pid())
        put("memory base Pss KiB", base[1])
        for n in prof["sessions"]:
            m = idle_memory(srv, n, base)
            put("memory %d idle Pss KiB" % n, m["pss_kib"])
            put("memory %d idle Pss KiB/session" % n, m["pss_per_session_kib"])
            put("memory %d idle Rss KiB/session" % n, m["rss_per_session_kib"])
    if want("pop2") and srv.name == "postoffice":
        nbig, _ = prof["big"]
        warm(os.path.join(srv.data, "maildrops", "big"))  # both servers read it
        r = loadgen("pop2", srv.pop2, "big", PASSWORD)
        if r["msgs"] != nbig:
            raise RuntimeError("pop2: %r" % r)
        put("POP2 READ/RETR/ACKS %s MB/s" % big_label(prof), r["mbps"])


# targets of issue 6: (figure prefix, how to judge the ratio po/dv)
HIGHER = ("sessions/s", "MB/s")


def report(results, prof, rounds):
    octets = results.pop("octets", None)
    ceil = results.pop("ceiling", None)
    paired = results.pop("paired", {})
    rows = []
    for key, per in results.items():
        po = statistics.median(per["postoffice"]) if "postoffice" in per else None
        dv = statistics.median(per["dovecot"]) if "dovecot" in per else None
        ratio = po / dv if po is not None and dv else None
        rows.append((key, po, dv, ratio))
    print()
    print("median of %d round(s); ratio = postoffice / Dovecot" % rounds)
    print("%-44s %14s %14s %8s" % ("figure", "postoffice", "dovecot", "ratio"))
    for key, po, dv, ratio in rows:
        f = lambda v: "-" if v is None else ("%.4f" % v if v < 10 else "%.1f" % v)
        print("%-44s %14s %14s %8s" % (key, f(po), f(dv),
                                        "-" if ratio is None else "%.2f" % ratio))
    if ceil:
        c = statistics.median(ceil)
        print("%-44s %14.1f" % ("loopback ceiling MB/s (same client)", c))
        for key, po, _, _ in rows:
            if key.endswith("MB/s") and po:
                print("%-44s %14.2f" % (key.replace(" MB/s", "") + " / ceiling", po / c))
    for name in ("postoffice", "dovecot"):
        if paired.get(name):
            print("%-44s %14.2f" % ("RETR %s / ceiling, paired: %s" % (
                big_label(prof), name), statistics.median(paired[name])))
    if octets:
        print("(RETR moved %d octets per run; MB = 10^6 octets)" % octets)


def main():
    global LOADGEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--dovecot-tuned", action="store_true",
                    help="Dovecot's high-performance login mode, not its default")
    ap.add_argument("--only", nargs="*", default=[],
                    help="storm retr list mem pop2 (prefixes)")
    args = ap.parse_args()
    prof = SMOKE if args.smoke else FULL
    rounds = args.rounds or prof["rounds"]
    binary = os.path.abspath(os.environ.get("POSTOFFICE", os.path.join(ROOT, "postoffice")))
    LOADGEN = os.path.abspath(os.environ.get("LOADGEN", os.path.join(ROOT, "build", "bench", "loadgen")))
    scratch = None
    if os.environ.get("BENCH_DIR"):
        data = os.path.abspath(os.environ["BENCH_DIR"])
    elif args.smoke:
        # a private folder per run: make check may run twice at once
        data = scratch = tempfile.mkdtemp(prefix="postoffice-bench-smoke-")
        os.chmod(scratch, 0o755)
    else:
        data = os.path.join(ROOT, "build", "bench", "data")
    args_dir = data
    if not shutil.which("dovecot") and not os.path.exists("/usr/sbin/dovecot"):
        sys.exit("bench: dovecot is not installed (Debian dovecot-pop3d; make deps)")
    os.environ["PATH"] += ":/usr/sbin"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    uid, gid, _ = mail_owner()
    if not reachable(data, uid):
        # Dovecot's mail processes run as nobody, who cannot enter a
        # checkout under /root: keep the data where it can.
        data = os.path.join(tempfile.gettempdir(), "postoffice-bench-%s" %
                            hashlib.md5(data.encode()).hexdigest()[:12])
        log("bench: %s is not reachable by uid %d; using %s" % (
            args_dir, uid, data))
    generate(data, prof)
    with open(os.path.join(data, "users"), "w") as f:
        f.write("\n".join(users(prof)) + "\n")
    chown_tree(os.path.join(data, "maildrops"), uid, gid)

    servers = [Postoffice(data, binary), Dovecot(data, args.dovecot_tuned)]
    for u in users_of(data):
        if u.startswith("mb"):
            for s in servers:
                s.forget(u)
    results = {}
    started = []
    try:
        for s in servers:
            s.start()
            started.append(s)
            log("bench: %s on port %d (pid %d)" % (s.name, s.pop3, s.pid()))
        for r in range(rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for s in order:
                t0 = time.time()
                run_round(s, prof, results, args.only)
                log("bench: round %d/%d %s: %.1f s" % (r + 1, rounds, s.name,
                                                       time.time() - t0))
                for key, per in results.items():
                    if isinstance(per, dict) and len(per.get(s.name, ())) > r:
                        log("  %-44s %.4g" % (key, per[s.name][r]))
    finally:
        for s in started:
            s.stop()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    report(results, prof, rounds)
    if args.smoke:
        print("bench-smoke: every scenario ran against postoffice and Dovecot "
              "with the right counts")


LOADGEN = None

if __name__ == "__main__":
    main()
