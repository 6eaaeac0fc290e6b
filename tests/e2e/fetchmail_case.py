"""A test case that runs the real fetchmail against the server, with a
private rcfile and HOME, and an MDA that stores each message in its own
numbered file so what fetchmail delivered can be compared byte for byte."""
import getpass
import os
import shutil
import subprocess
import tempfile
import unittest

from fixtures import PASSWORD, USER


def need(tool):
    path = shutil.which(tool)
    if not path:
        raise AssertionError("%s is not installed: run tests/deps.sh" % tool)
    return path


class FetchmailCase(unittest.TestCase):
    def setUp(self):
        need("fetchmail")
        self.tmp = tempfile.mkdtemp(prefix="po-fetchmail-")
        self.out = os.path.join(self.tmp, "out")
        os.mkdir(self.out)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_fetchmail(self, port, poll, password=PASSWORD, verbose=False):
        """POLL is what follows "protocol" on the poll line, e.g. "POP3 uidl"
        or "APOP auth apop".  6.4 tries STLS and gives up without TLS unless
        told sslproto ''."""
        rc = os.path.join(self.tmp, "fetchmailrc")
        mda = ("sh -c 'n=$(ls %s | wc -l); cat > %s/$(printf %%04d $n)'"
               % (self.out, self.out))
        with open(rc, "w") as f:
            f.write("set no bouncemail\nset invisible\n"
                    "poll 127.0.0.1 service %d protocol %s\n"
                    '  user "%s" there with password "%s" is "%s" here\n'
                    "  keep no rewrite no stripcr sslproto ''\n"
                    '  mda "%s"\n'
                    % (port, poll, USER, password, getpass.getuser(), mda))
        os.chmod(rc, 0o600)
        return subprocess.run(
            ["fetchmail", "-f", rc, "--nodetach"] + (["-v"] if verbose else []) +
            ["--idfile", os.path.join(self.tmp, "fetchids"),
             "--pidfile", os.path.join(self.tmp, "fetchmail.pid")],
            capture_output=True, env=dict(os.environ, HOME=self.tmp), timeout=120)

    def delivered(self):
        out = []
        for name in sorted(os.listdir(self.out)):
            with open(os.path.join(self.out, name), "rb") as f:
                out.append(f.read())
        return out
