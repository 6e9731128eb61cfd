//! Where the command writes: results on standard output, problems and errors on
//! standard error, each coloured only when it is a terminal (and NO_COLOR is unset
//! or empty, see <https://no-color.org>), or as `--color` says.
//!
//! Paths in problems are relative to the store's root; when the store was named with
//! `-C DIR`, they are printed as `DIR/file:line:col` so that an editor started in the
//! current directory jumps to them. JSON output keeps them relative to the root.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use ssot_core::store::{Location, Report};

use crate::args::{ColorChoice, Global};

/// ANSI styles; the empty string when colour is off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    on: bool,
}

impl Paint {
    fn new(choice: ColorChoice, terminal: bool) -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint {
            on: match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => terminal && !no_color,
            },
        }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold.
    pub(crate) fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// Red and bold: errors.
    pub(crate) fn red(self, text: &str) -> String {
        self.wrap("1;31", text)
    }

    /// Green: ready, success.
    pub(crate) fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Yellow: blocked, warnings.
    pub(crate) fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    /// Dim: locations and other secondary text.
    pub(crate) fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
}

/// The command's two streams and its output options.
pub(crate) struct Output {
    out: io::BufWriter<io::Stdout>,
    /// Whether `--json` was given.
    pub(crate) json: bool,
    /// Styles for standard output.
    pub(crate) paint: Paint,
    /// Styles for standard error.
    err_paint: Paint,
    /// The prefix of store-relative paths in text output (`-C DIR`), empty for `.`.
    base: PathBuf,
}

impl Output {
    /// The streams for these options.
    pub(crate) fn new(global: &Global) -> Output {
        let base = if global.dir == Path::new(".") {
            PathBuf::new()
        } else {
            global.dir.clone()
        };
        Output {
            out: io::BufWriter::new(io::stdout()),
            json: global.json,
            paint: Paint::new(global.color, io::stdout().is_terminal()),
            err_paint: Paint::new(global.color, io::stderr().is_terminal()),
            base,
        }
    }

    /// Writes one line of text on standard output.
    pub(crate) fn line(&mut self, text: impl AsRef<str>) -> io::Result<()> {
        writeln!(self.out, "{}", text.as_ref())
    }

    /// Writes text as it is on standard output.
    pub(crate) fn raw(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())
    }

    /// Writes a JSON document, pretty, on standard output.
    pub(crate) fn json_value(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, value)?;
        writeln!(self.out)
    }

    /// Flushes standard output.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// A store-relative path as the user reaches it from the current directory.
    pub(crate) fn path(&self, file: &str) -> String {
        if self.base.as_os_str().is_empty() {
            file.to_owned()
        } else {
            self.base.join(file).display().to_string()
        }
    }

    /// A location as `path:line:col`, the path as [`Output::path`] gives it.
    pub(crate) fn location(&self, at: &Location) -> String {
        let mut s = self.path(&at.file);
        if let Some(line) = at.line {
            s.push_str(&format!(":{line}"));
            if let Some(col) = at.column {
                s.push_str(&format!(":{col}"));
            }
        }
        s
    }

    /// Writes every problem of `report`, one per line, then a count: on standard
    /// output when they are the result asked for (`validate`), else on standard error.
    pub(crate) fn problems(&mut self, report: &Report, on_stdout: bool) -> io::Result<()> {
        let paint = if on_stdout {
            self.paint
        } else {
            self.err_paint
        };
        let mut text = String::new();
        for p in report.problems() {
            let message = p.message.replace('\n', "\\n").replace('\r', "\\r");
            if p.location.file.is_empty() {
                text.push_str(&format!("{}: {message}\n", paint.red("error")));
            } else {
                let at = paint.bold(&self.location(&p.location));
                text.push_str(&format!("{at}: {message}\n"));
            }
        }
        let n = report.problems().len();
        let plural = if n == 1 { "" } else { "s" };
        text.push_str(&paint.red(&format!("{n} problem{plural}")));
        text.push('\n');
        if on_stdout {
            self.out.write_all(text.as_bytes())
        } else {
            // Standard error is the last resort: if it cannot be written, there is
            // nowhere left to say so, and the exit code still tells.
            let _ = io::stderr().lock().write_all(text.as_bytes());
            Ok(())
        }
    }

    /// Writes `error: message` on standard error.
    pub(crate) fn error(&mut self, message: &str) {
        let _ = writeln!(
            io::stderr().lock(),
            "{}: {message}",
            self.err_paint.red("error")
        );
    }

    /// Writes a note on standard error (a message for the person, not the pipe).
    pub(crate) fn note(&mut self, message: &str) {
        let _ = writeln!(io::stderr().lock(), "{message}");
    }
}
