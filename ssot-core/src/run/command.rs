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
//! The waiting thread is the worker itself: one `poll` on both output pipes and, on
//! Linux, a pidfd of the child (readable when it exits), so a command costs no reader
//! threads and no sleep-polling while its child runs. Without a pidfd, or while only
//! a detached grandchild is left, it polls from 50 µs doubling to 5 ms. A waiting
//! command sees a cancel or its deadline within 20 ms.
//!
//! "The group is gone" is first `kill(-pgid, 0)` failing (no process in the group:
//! the usual case once the child is reaped, and no `/proc` scan); when that finds a
//! member, it is read from `/proc` on Linux (a member that is a zombie no
//! longer runs and counts as gone: orphans are reaped by init, which may be slow or,
//! in a container, absent); elsewhere it is `kill(-pgid, 0)` failing.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
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
        let mut stdout = Capture::new(child.stdout.take(), self.output_limit);
        let mut stderr = Capture::new(child.stderr.take(), self.output_limit);
        let pidfd = open_pidfd(pgid);

        let mut deadline = ctx.deadline();
        if let Some(t) = self.timeout {
            let own = Instant::now() + t;
            deadline = Some(deadline.map_or(own, |d| d.min(own)));
        }
        let (mut timed_out, mut cancelled) = (false, false);
        let mut status: Option<ExitStatus> = None;
        let mut term_sent: Option<Instant> = None;
        let mut killed = false;
        // Without a pidfd (or once only a detached grandchild is left) nothing wakes
        // us when a process exits: poll from 50 µs, doubling to 5 ms.
        let mut nap = Duration::from_micros(50);
        // Wait for the direct child, both pipes' ends, then the rest of its group.
        let status = loop {
            if status.is_none() {
                status = child.try_wait().ok().flatten();
            }
            if let Some(s) = status
                && stdout.is_closed()
                && stderr.is_closed()
                && !group_alive(pgid)
            {
                break s;
            }
            if term_sent.is_none() {
                if ctx.cancel_token().is_cancelled() {
                    cancelled = true;
                } else if deadline.is_some_and(|d| Instant::now() >= d) {
                    timed_out = true;
                }
                if timed_out || cancelled {
                    // ESRCH: the group is already gone, which is what we want.
                    let _ = kill_process_group(pgid, Signal::TERM);
                    term_sent = Some(Instant::now());
                }
            }
            if let Some(t) = term_sent
                && !killed
                && t.elapsed() >= self.grace
            {
                let _ = kill_process_group(pgid, Signal::KILL);
                killed = true;
            }
            // Something wakes the wait below: the child's exit (pidfd) or its output.
            let woken = (status.is_none() && pidfd.is_some())
                || (status.is_some() && !(stdout.is_closed() && stderr.is_closed()));
            let mut wait = if woken {
                WAKE_CHECK
            } else {
                let n = nap;
                nap = (nap * 2).min(Duration::from_millis(5));
                n
            };
            let now = Instant::now();
            if term_sent.is_none()
                && let Some(d) = deadline
            {
                wait = wait.min(d.saturating_duration_since(now));
            }
            if let Some(t) = term_sent
                && !killed
            {
                wait = wait.min((t + self.grace).saturating_duration_since(now));
            }
            let pidfd = if status.is_none() {
                pidfd.as_ref()
            } else {
                None
            };
            wait_for_io(&mut stdout, &mut stderr, pidfd, wait);
        };
        ctx.journal_process_group(pgid.as_raw_pid(), true);
        let stdout_tail = stdout.into_string();
        let stderr_tail = stderr.into_string();
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

/// How often a waiting command looks at the cancel token and its deadline when
/// something else (the child's exit, its output) would wake it anyway.
const WAKE_CHECK: Duration = Duration::from_millis(20);

/// One output pipe of a command, read on the waiting thread, keeping the tail.
struct Capture<R> {
    /// `None` once every writer (grandchildren included) closed it.
    pipe: Option<R>,
    tail: Vec<u8>,
    limit: usize,
}

impl<R: Read + AsFd> Capture<R> {
    fn new(pipe: Option<R>, limit: usize) -> Capture<R> {
        Capture {
            pipe,
            tail: Vec::new(),
            limit,
        }
    }

    fn is_closed(&self) -> bool {
        self.pipe.is_none()
    }

    /// One read (the pipe was reported readable or hung up, so it does not block).
    fn read_once(&mut self) {
        let Some(pipe) = &mut self.pipe else { return };
        let mut buf = [0u8; 8192];
        match pipe.read(&mut buf) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                self.tail.extend_from_slice(&buf[..n]);
                if self.tail.len() > self.limit {
                    let cut = self.tail.len() - self.limit;
                    self.tail.drain(..cut);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A pipe that cannot be read loses only output; stop waiting for it.
            Err(_) => self.pipe = None,
        }
    }

    fn into_string(self) -> String {
        let mut s = Tail::new(usize::MAX);
        s.push(&String::from_utf8_lossy(&self.tail));
        s.into_string()
    }
}

/// Waits up to `wait` for output on either pipe or the child's exit (its pidfd),
/// and reads what came. One `poll` call: no reader threads.
fn wait_for_io<A: Read + AsFd, B: Read + AsFd>(
    a: &mut Capture<A>,
    b: &mut Capture<B>,
    pidfd: Option<&OwnedFd>,
    wait: Duration,
) {
    let flags = PollFlags::IN;
    let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(3);
    let mut which = [None; 3];
    if let Some(p) = &a.pipe {
        which[fds.len()] = Some(0);
        fds.push(PollFd::new(p, flags));
    }
    if let Some(p) = &b.pipe {
        which[fds.len()] = Some(1);
        fds.push(PollFd::new(p, flags));
    }
    if let Some(p) = pidfd {
        fds.push(PollFd::new(p, flags));
    }
    if fds.is_empty() {
        thread::sleep(wait);
        return;
    }
    let timeout = Timespec::try_from(wait).unwrap_or(Timespec {
        tv_sec: 1,
        tv_nsec: 0,
    });
    // EINTR and the like: the caller's loop comes back here.
    if rustix::event::poll(&mut fds, Some(&timeout)).is_err() {
        return;
    }
    let ready: Vec<usize> = fds
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.revents().is_empty())
        .filter_map(|(k, _)| which[k])
        .collect();
    drop(fds);
    for w in ready {
        if w == 0 {
            a.read_once();
        } else {
            b.read_once();
        }
    }
}

/// A pidfd for the child (Linux 5.3 and later): readable when it exits, so the
/// wait needs no polling. `None` elsewhere or when the kernel refuses.
#[cfg(target_os = "linux")]
fn open_pidfd(pid: Pid) -> Option<OwnedFd> {
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

#[cfg(not(target_os = "linux"))]
fn open_pidfd(_pid: Pid) -> Option<OwnedFd> {
    None
}

/// Whether any process of the group still runs (zombies do not count).
/// `kill(-pgid, 0)` first: when it fails the group is gone (the usual case once the
/// direct child is reaped), and `/proc` is not read. When it succeeds a member may be
/// a zombie, so on Linux `/proc` decides.
fn group_alive(pgid: Pid) -> bool {
    if rustix::process::test_kill_process_group(pgid).is_err() {
        return false;
    }
    #[cfg(target_os = "linux")]
    if let Some(alive) = proc_group_alive(pgid.as_raw_pid()) {
        return alive;
    }
    true
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
