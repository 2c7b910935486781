//! Collected check results of one run.

use std::fmt::Debug;

/// Passed and failed checks; printed as `PASS`/`FAIL` lines at the end.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    passed: Vec<String>,
    failed: Vec<String>,
}

/// At most this many characters of a value are shown in a failure.
const SHOW: usize = 300;

pub(crate) fn show(v: &impl Debug) -> String {
    let s = format!("{v:?}");
    if s.len() <= SHOW {
        return s;
    }
    let mut end = SHOW;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} chars)", &s[..end], s.len())
}

impl Checks {
    pub(crate) fn pass(&mut self, what: impl Into<String>) {
        self.passed.push(what.into());
    }

    pub(crate) fn fail(&mut self, what: impl Into<String>) {
        let what = what.into();
        eprintln!("check failed: {what}");
        self.failed.push(what);
    }

    /// Records whether `got == want`.
    pub(crate) fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: &T, want: &T) {
        if got == want {
            self.pass(what);
        } else {
            self.fail(format!("{what}: got {}, want {}", show(got), show(want)));
        }
    }

    pub(crate) fn ok(&self) -> bool {
        self.failed.is_empty() && !self.passed.is_empty()
    }

    pub(crate) fn print(&self) {
        for f in &self.failed {
            println!("FAIL {f}");
        }
        println!(
            "checks passed={} failed={}",
            self.passed.len(),
            self.failed.len()
        );
    }
}
