//! A real SMTP server for the e-mail tests: Debian's aiosmtpd, started per test.

/// A real SMTP server (Python's aiosmtpd) delivering into a Maildir; killed on drop.
pub struct SmtpServer {
    child: std::process::Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts aiosmtpd on a free loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        let python = python_with_aiosmtpd();
        let maildir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // A path that doesn't exist yet: aiosmtpd only lays out a Maildir it creates.
            .arg(maildir.path().join("maildir"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {python} -m aiosmtpd: {error}"));
        let mut server = Self {
            child,
            port,
            maildir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
                }
                panic!("aiosmtpd exited ({status}) before listening:\n{stderr}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not listen on 127.0.0.1:{port} within 15 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    /// The messages delivered so far, as files in the Maildir's `new/`.
    pub fn delivered(&self) -> Vec<String> {
        let new = self.maildir.path().join("maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first of `python3` (on PATH) and `/usr/bin/python3` that can import aiosmtpd. A
/// pyenv or virtualenv `python3` doesn't see Debian's packages, hence the fallback.
fn python_with_aiosmtpd() -> String {
    for python in ["python3", "/usr/bin/python3"] {
        let found = std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if found {
            return python.to_owned();
        }
    }
    panic!(
        "this test needs the aiosmtpd SMTP server, importable by python3 or /usr/bin/python3: \
         install it with `apt-get install -y python3-aiosmtpd` (Debian/Ubuntu) \
         or `python3 -m pip install aiosmtpd`"
    );
}
