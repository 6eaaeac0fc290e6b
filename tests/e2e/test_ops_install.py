"""make install and make uninstall into a staging DESTDIR."""
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BINARY

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

FILES = ("sbin/postoffice",
         "share/man/man8/postoffice.8",
         "share/man/man5/postoffice.conf.5",
         "share/doc/postoffice/postoffice.conf.example")


def make(*args):
    return subprocess.run(["make", "-s", "-C", ROOT] + list(args),
                          capture_output=True, timeout=300)


class Install(unittest.TestCase):
    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="po-install-")
        self.addCleanup(shutil.rmtree, self.dest, ignore_errors=True)

    def test_install_then_uninstall_under_prefix_and_destdir(self):
        prefix = "/opt/po"
        p = make("install", "PREFIX=" + prefix, "DESTDIR=" + self.dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        root = self.dest + prefix
        for f in FILES:
            self.assertTrue(os.path.isfile(os.path.join(root, f)), f)
        binary = os.path.join(root, "sbin/postoffice")
        self.assertTrue(os.access(binary, os.X_OK))
        out = subprocess.run([binary, "--version"], capture_output=True)
        self.assertTrue(out.stdout.startswith(b"postoffice "), out)
        with open(os.path.join(root, FILES[3]), "rb") as a, \
                open(os.path.join(ROOT, "docs/examples/postoffice.conf"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        # Nothing lands outside DESTDIR/PREFIX.
        self.assertEqual(os.listdir(self.dest), ["opt"])

        p = make("uninstall", "PREFIX=" + prefix, "DESTDIR=" + self.dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        for f in FILES:
            self.assertFalse(os.path.exists(os.path.join(root, f)), f)
        self.assertFalse(os.path.exists(os.path.join(root, "share/doc/postoffice")))

    def test_the_example_config_starts_a_server_with_every_line_on(self):
        # Every commented "#key value" line is switched on; the ports
        # become 0 and the paths private, so it can run here.
        with open(os.path.join(ROOT, "docs/examples/postoffice.conf")) as f:
            text = f.read()
        text = re.sub(r"(?m)^#([a-z_]+ )", r"\1", text)
        text = re.sub(r":(110|109|1110)\b", ":0", text)
        passwd = os.path.join(self.dest, "passwd")
        with open(passwd, "w") as f:
            f.write("alice:{PLAIN}a\n")
        text = text.replace("/etc/postoffice/passwd", passwd)
        text = text.replace("/var/mail/", self.dest + "/")
        text = text.replace("log syslog", "log stderr")
        conf = os.path.join(self.dest, "postoffice.conf")
        with open(conf, "w") as f:
            f.write(text)
        proc = subprocess.Popen([BINARY, "serve", "-c", conf],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            log = b""
            deadline = time.time() + 10
            while b"postoffice ready" not in log and time.time() < deadline:
                r, _, _ = select.select([proc.stderr], [], [], 0.5)
                if r:
                    chunk = os.read(proc.stderr.fileno(), 4096)
                    if not chunk:
                        break
                    log += chunk
            self.assertIn(b"postoffice ready", log)
            self.assertEqual(len(re.findall(rb"listening pop3", log)), 3, log)
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=10), 0)
            proc.stderr.close()
