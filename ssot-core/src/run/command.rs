//! [`CommandJob`]: run a program (or a shell line) as a job. Unix only.
//!
//! # Design
//!
//! Each command runs in its own process group (`process_group(0)`: its pid is the
//! group id), so a timeout or a cancel reaches everything it started: SIGTERM to the
//! group, then SIGKILL after a grace period. The outcome is recorded only when the
//! whole group is gone (not only the direct child) and both output pipes are closed,
//! so output written by a grandchild after its parent exited is kept. Signals go
//! through `rustix` (a safe `kill(-pgid, sig)`; `libc`'s needs `unsafe`, which the
//! workspace forbids). `process-wrap` was considered: it kills groups, but neither
//! waits for the group to empty nor for the pipes to close, which is the part that
//! matters here, so std's `CommandExt::process_group` plus one `kill` call was smaller.
//!
//! "The group is gone" is read from `/proc` on Linux (a member that is a zombie no
//! longer runs and counts as gone: orphans are reaped by init, which may be slow or,
//! in a container, absent); elsewhere it is `kill(-pgid, 0)` failing.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

use crate::run::context::{Job, JobError, RunContext, Tail};

/// A command to run as a job: program and arguments (or a shell line), working
/// directory, environment, timeout, and how much of stdout/stderr to keep.
///
/// ```
/// # #[cfg(unix)] {
/// use ssot_core::run::CommandJob;
/// let out = CommandJob::shell("echo hello; exit 3").execute_alone().unwrap();
/// assert_eq!(out.exit_code, Some(3));
/// assert_eq!(out.stdout_tail, "hello\n");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CommandJob {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    timeout: Option<Duration>,
    grace: Duration,
    output_limit: usize,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// The exit code; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// The last bytes of its stdout (lossy UTF-8).
    pub stdout_tail: String,
    /// The last bytes of its stderr (lossy UTF-8).
    pub stderr_tail: String,
    /// Whether it was stopped because its time ran out.
    pub timed_out: bool,
    /// Whether it was stopped because the run was cancelled.
    pub cancelled: bool,
}

impl CommandJob {
    /// Runs `program` (found on `PATH`) with no arguments yet.
    #[must_use]
    pub fn new(program: impl AsRef<OsStr>) -> CommandJob {
        CommandJob {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            timeout: None,
            grace: Duration::from_secs(2),
            output_limit: 16 * 1024,
        }
    }

    /// Runs `line` with `sh -c`.
    #[must_use]
    pub fn shell(line: impl AsRef<OsStr>) -> CommandJob {
        CommandJob::new("sh").arg("-c").arg(line)
    }

    /// Adds an argument.
    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> CommandJob {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    #[must_use]
    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> CommandJob {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The working directory (default: the current one).
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> CommandJob {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets an environment variable (added to the inherited environment).
    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> CommandJob {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Time limit; the attempt's own deadline also applies, whichever is sooner.
    #[must_use]
    pub fn timeout(mut self, t: Duration) -> CommandJob {
        self.timeout = Some(t);
        self
    }

    /// Time between SIGTERM and SIGKILL when stopping the group (default 2 s).
    #[must_use]
    pub fn grace(mut self, t: Duration) -> CommandJob {
        self.grace = t;
        self
    }

    /// Bytes kept of each of stdout and stderr (their tails; default 16 KiB).
    #[must_use]
    pub fn output_limit(mut self, bytes: usize) -> CommandJob {
        self.output_limit = bytes;
        self
    }

    /// The command as a shell-like line, for messages.
    #[must_use]
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command outside an executor (no cancellation; only its own
    /// timeout).
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    pub fn execute_alone(&self) -> Result<CommandOutput, JobError> {
        let ctx = RunContext::new(1, crate::run::CancelToken::new(), None, 0);
        self.execute(&ctx)
    }

    /// Runs the command for one attempt and waits for its whole process group and
    /// its output pipes. A non-zero exit is not an error here (see the
    /// [`Job`] implementation for that).
    ///
    /// # Errors
    ///
    /// When the command cannot be started (not found, not executable, bad working
    /// directory).
    pub fn execute(&self, ctx: &RunContext) -> Result<CommandOutput, JobError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| {
            JobError::new(format!(
                "cannot start `{}`{}: {e}; check the program is installed and the directory exists",
                self.display(),
                self.cwd
                    .as_ref()
                    .map(|d| format!(" in {}", d.display()))
                    .unwrap_or_default()
            ))
        })?;
        let pgid = Pid::from_child(&child);
        ctx.journal_process_group(pgid.as_raw_pid(), false);
        let stdout = reader(child.stdout.take(), self.output_limit);
        let stderr = reader(child.stderr.take(), self.output_limit);

        let mut deadline = ctx.deadline();
        if let Some(t) = self.timeout {
            let own = Instant::now() + t;
            deadline = Some(deadline.map_or(own, |d| d.min(own)));
        }
        let stop_requested = |timed: &mut bool, cancelled: &mut bool| {
            if ctx.cancel_token().is_cancelled() {
                *cancelled = true;
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                *timed = true;
            }
            *timed || *cancelled
        };
        let (mut timed_out, mut cancelled) = (false, false);
        let mut status: Option<ExitStatus> = None;
        let mut term_sent: Option<Instant> = None;
        let mut killed = false;
        // Poll from 50 µs, doubling to 5 ms: short commands are seen at once, long ones
        // cost little.
        let mut nap = Duration::from_micros(50);
        // Wait for the direct child, then for the rest of its group.
        loop {
            if status.is_none() {
                status = child.try_wait().ok().flatten();
            }
            if status.is_some() && !group_alive(pgid) {
                break;
            }
            if term_sent.is_none() && stop_requested(&mut timed_out, &mut cancelled) {
                // ESRCH: the group is already gone, which is what we want.
                let _ = kill_process_group(pgid, Signal::TERM);
                term_sent = Some(Instant::now());
            }
            if let Some(t) = term_sent
                && !killed
                && t.elapsed() >= self.grace
            {
                let _ = kill_process_group(pgid, Signal::KILL);
                killed = true;
            }
            thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(5));
        }
        let status = match status {
            Some(s) => s,
            None => wait_child(&mut child)?,
        };
        ctx.journal_process_group(pgid.as_raw_pid(), true);
        let stdout_tail = stdout.finish();
        let stderr_tail = stderr.finish();
        ctx.log(&stdout_tail);
        ctx.log(&stderr_tail);
        Ok(CommandOutput {
            exit_code: status.code(),
            stdout_tail,
            stderr_tail,
            timed_out,
            cancelled,
        })
    }
}

fn wait_child(child: &mut Child) -> Result<ExitStatus, JobError> {
    child
        .wait()
        .map_err(|e| JobError::new(format!("cannot wait for the command: {e}")))
}

impl<N: ?Sized> Job<N> for CommandJob {
    /// Runs the command; succeeds when it exits with code 0. Its output tails go to
    /// the attempt's output.
    fn run(&self, _node: &N, ctx: &RunContext) -> Result<(), JobError> {
        let out = self.execute(ctx)?;
        if out.timed_out {
            return Err(JobError::new(format!(
                "`{}` timed out; its process group was stopped",
                self.display()
            )));
        }
        if out.cancelled {
            return Err(JobError::new(format!("`{}` was cancelled", self.display())));
        }
        match out.exit_code {
            Some(0) => Ok(()),
            Some(code) => Err(JobError::new(format!(
                "`{}` exited with code {code}{}",
                self.display(),
                last_line(&out.stderr_tail)
            ))),
            None => Err(JobError::new(format!(
                "`{}` was ended by a signal{}",
                self.display(),
                last_line(&out.stderr_tail)
            ))),
        }
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {l}"))
        .unwrap_or_default()
}

/// A thread reading a pipe to its end (every writer, grandchildren included, closed
/// it), keeping the tail.
struct PipeReader {
    handle: Option<thread::JoinHandle<()>>,
    tail: Arc<Mutex<Vec<u8>>>,
}

fn reader(pipe: Option<impl Read + Send + 'static>, limit: usize) -> PipeReader {
    let tail = Arc::new(Mutex::new(Vec::new()));
    let handle = pipe.map(|mut pipe| {
        let tail = Arc::clone(&tail);
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut t = tail.lock().unwrap_or_else(PoisonError::into_inner);
                t.extend_from_slice(&buf[..n]);
                if t.len() > limit {
                    let cut = t.len() - limit;
                    t.drain(..cut);
                }
            }
        })
    });
    PipeReader { handle, tail }
}

impl PipeReader {
    fn finish(mut self) -> String {
        if let Some(h) = self.handle.take() {
            // A panic in the reader loses only output; the bytes read so far remain.
            let _ = h.join();
        }
        let bytes = std::mem::take(&mut *self.tail.lock().unwrap_or_else(PoisonError::into_inner));
        let mut s = Tail::new(usize::MAX);
        s.push(&String::from_utf8_lossy(&bytes));
        s.into_string()
    }
}

/// Whether any process of the group still runs (zombies do not count).
fn group_alive(pgid: Pid) -> bool {
    #[cfg(target_os = "linux")]
    if let Some(alive) = proc_group_alive(pgid.as_raw_pid()) {
        return alive;
    }
    rustix::process::test_kill_process_group(pgid).is_ok()
}

/// Scans `/proc/*/stat` for a process of group `pgid` that is not a zombie. `None`
/// when `/proc` cannot be read.
#[cfg(target_os = "linux")]
fn proc_group_alive(pgid: i32) -> Option<bool> {
    let dir = std::fs::read_dir("/proc").ok()?;
    for entry in dir.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next();
        let _ppid = f.next();
        let pgrp = f.next().and_then(|p| p.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != Some("Z") && state != Some("X") {
            return Some(true);
        }
    }
    Some(false)
}

/// Whether process `pid` is gone or a zombie (for tests and resume). Linux reads
/// `/proc`; elsewhere, whether `kill(pid, 0)` fails.
#[must_use]
pub fn process_gone(pid: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next())
                .is_some_and(|s| s == "Z" || s == "X"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Pid::from_raw(pid).is_none_or(|p| rustix::process::test_kill_process(p).is_err())
    }
}
