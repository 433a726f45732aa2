//! Progress of a run's epochs and of a sweep's runs: a bar on a terminal, and plain lines on
//! stderr otherwise (about every 10%), so the log of a cluster job shows how far it got.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dagmm_classic_gmm::EmIteration;
use dagmm_model::{EpochLosses, TrainingStage};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Whether progress is drawn as bars (stderr is a terminal) or written as lines.
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Where progress goes.
enum Display {
    Bar(ProgressBar),
    /// Plain lines: the prefix (a sweep's run folder), and the next tenth to report.
    Lines {
        prefix: String,
        next_tenth: Mutex<u64>,
    },
}

/// The progress of one run's training epochs.
pub struct EpochProgress {
    display: Display,
    total: u64,
    started: Instant,
    /// As lines: when the next EM iteration, pretraining epoch or main-stage line may be written
    /// (time since `started`).
    next_line: Mutex<Duration>,
    /// Whether [`println`](Self::println) shows its lines.
    describe: bool,
}

/// As lines, the training's epochs are written at most this often (and the last one always).
const LINE_EVERY: Duration = Duration::from_secs(30);
/// EM fits shorter than this show no iterations.
const EM_QUIET: Duration = Duration::from_secs(2);
/// As lines, an EM fit writes at most one iteration this often.
const EM_LINE_EVERY: Duration = Duration::from_secs(5);

impl EpochProgress {
    /// Only a long EM fit's iterations (`dagmm gmm`, whose own lines say the rest): on its
    /// spinner on a terminal, else as lines.
    pub fn em_only() -> Self {
        let mut progress = Self::new(None, "", None);
        progress.describe = false;
        progress
    }

    /// Progress over `epochs` main-stage epochs (none for a detector without epochs): a bar of
    /// its own, or one in `multi` (a sweep's), or lines prefixed with `prefix`.
    pub fn new(epochs: Option<usize>, prefix: &str, multi: Option<&MultiProgress>) -> Self {
        let total = epochs.unwrap_or(0) as u64;
        let display = if !on_terminal() {
            Display::Lines {
                prefix: if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}: ")
                },
                next_tenth: Mutex::new(1),
            }
        } else if epochs.is_none() {
            // A classic detector: a spinner line, with EM's iterations once a fit runs long.
            Display::Bar(styled(
                ProgressBar::new_spinner(),
                [
                    "{spinner} [{elapsed_precise}] {wide_msg}",
                    "  {prefix} {spinner} {wide_msg}",
                ],
                prefix,
                multi,
            ))
        } else {
            Display::Bar(styled(
                ProgressBar::new(total),
                [
                    "{bar:28} [{elapsed_precise}, eta {eta}] {wide_msg}",
                    "  {prefix} {bar:20} {wide_msg}",
                ],
                prefix,
                multi,
            ))
        };
        EpochProgress {
            display,
            total,
            started: Instant::now(),
            next_line: Mutex::new(EM_QUIET),
            describe: true,
        }
    }

    /// A line above the bar (or on stderr without one).
    pub fn println(&self, line: &str) {
        if !self.describe {
            return;
        }
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            Display::Lines { prefix, .. } => eprintln!("{prefix}{line}"),
        }
    }

    /// The end of an epoch: the bar moves (main stage) and shows the epoch's losses; as lines,
    /// every tenth of the main stage and its last epoch are reported.
    pub fn epoch(&self, e: &EpochLosses) {
        let codes = e
            .codes_used
            .map(|c| format!(", {c} codes"))
            .unwrap_or_default();
        let losses = format!(
            "loss {:.4} (recon {:.4}, energy {:.3}, penalty {:.2}, reg {:.3}{codes})",
            e.total, e.reconstruction, e.energy, e.penalty, e.regularization
        );
        let main = e.stage == TrainingStage::Train;
        match &self.display {
            Display::Bar(bar) => {
                // The epoch's number is part of the message, so that it always names the epoch
                // whose losses it shows (the bar's own position and message are drawn apart).
                if main {
                    bar.set_position(e.epoch as u64);
                    bar.set_message(format!("epoch {}/{}: {losses}", e.epoch, self.total));
                } else {
                    bar.set_message(format!("{} epoch {}: {losses}", e.stage, e.epoch));
                }
            }
            Display::Lines { prefix, next_tenth } => {
                let elapsed = self.started.elapsed();
                if !main {
                    // Pretraining: its first epoch of each stage, then at most a line every
                    // LINE_EVERY, so a log is not silent for minutes before the main stage.
                    let mut next = self.next_line.lock().expect("progress lock");
                    if e.epoch == 1 || elapsed >= *next {
                        eprintln!(
                            "{prefix}{} epoch {}: {losses} [{}]",
                            e.stage,
                            e.epoch,
                            clock(elapsed)
                        );
                        *next = elapsed + LINE_EVERY;
                    }
                    return;
                }
                if self.total == 0 {
                    return;
                }
                let mut next = next_tenth.lock().expect("progress lock");
                let epoch = e.epoch as u64;
                // Every tenth of the main stage, but no more often than LINE_EVERY (a sweep's
                // log of short runs gets its result lines, not ten lines a run), and the last.
                let mut last_line = self.next_line.lock().expect("progress lock");
                if epoch < self.total && (epoch * 10 < *next * self.total || elapsed < *last_line) {
                    return;
                }
                *next = epoch * 10 / self.total + 1;
                *last_line = elapsed + LINE_EVERY;
                let eta = (epoch > 0 && epoch < self.total)
                    .then(|| elapsed.mul_f64((self.total - epoch) as f64 / epoch as f64))
                    .map_or(String::new(), |d| format!(", eta {}", clock(d)));
                eprintln!(
                    "{prefix}epoch {epoch}/{} ({}%): {losses} [{}{eta}]",
                    self.total,
                    epoch * 100 / self.total,
                    clock(elapsed)
                );
            }
        }
    }

    /// An EM iteration of a classic mixture's fit. Once the run is [`EM_QUIET`] old: the
    /// initialisation, iteration, lower bound and its change on the bar (or spinner), or as a
    /// line at most every [`EM_LINE_EVERY`] (and for the converging iteration).
    pub fn em_iteration(&self, it: &EmIteration) {
        let elapsed = self.started.elapsed();
        if elapsed < EM_QUIET {
            return;
        }
        let message = em_message(it);
        match &self.display {
            Display::Bar(bar) => bar.set_message(message),
            Display::Lines { prefix, .. } => {
                let mut next = self.next_line.lock().expect("progress lock");
                if elapsed >= *next || it.change < it.tol {
                    eprintln!("{prefix}{message} [{}]", clock(elapsed));
                    *next = elapsed + EM_LINE_EVERY;
                }
            }
        }
    }

    /// Runs `f` with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.display {
            Display::Bar(bar) => bar.suspend(f),
            _ => f(),
        }
    }

    /// Clears the bar, so that what is printed next is not drawn under it.
    pub fn finish(&self, multi: Option<&MultiProgress>) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
            if let Some(m) = multi {
                m.remove(bar);
            }
        }
    }
}

/// `bar` with the first template (a run of its own) or the second (`prefix` names a sweep's run),
/// added to `multi` when there is one. The message is `{wide_msg}`, cut to the terminal's width: a
/// bar line that wrapped would be redrawn below itself, piling frames up in the scrollback.
fn styled(
    bar: ProgressBar,
    templates: [&str; 2],
    prefix: &str,
    multi: Option<&MultiProgress>,
) -> ProgressBar {
    let template = if prefix.is_empty() {
        templates[0]
    } else {
        templates[1]
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_prefix(prefix.to_string());
    match multi {
        Some(m) => m.add(bar),
        None => bar,
    }
}

/// `EM init 1/3, iteration 12/100: lower bound -17.94977 (change 3.2e-4, stops below 1e-3)`.
pub fn em_message(it: &EmIteration) -> String {
    let init = if it.n_init > 1 {
        format!(" init {}/{},", it.init, it.n_init)
    } else {
        String::new()
    };
    let change = if it.change.is_finite() {
        format!(" (change {:.1e}, stops below {:.0e})", it.change, it.tol)
    } else {
        String::new()
    };
    format!(
        "EM{init} iteration {}/{}: lower bound {:.5}{change}",
        it.iteration, it.max_iter, it.lower_bound
    )
}

/// `line` broken at spaces into lines of at most `width` characters, the continuation lines
/// indented by four spaces (a sweep's result line on a terminal, which would otherwise wrap in
/// the middle of a number).
pub fn wrap(line: &str, width: usize) -> String {
    let width = width.max(40);
    let mut out = String::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let len = current.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push_str(&current);
            out.push('\n');
            current = format!("    {word}");
        } else {
            if len > 0 {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    out.push_str(&current);
    out
}

/// The terminal's width in columns (80 when unknown).
pub fn terminal_width() -> usize {
    console::Term::stderr()
        .size_checked()
        .map_or(80, |(_, cols)| cols as usize)
}

/// `h:mm:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_breaks_between_words_never_inside_a_number() {
        let line = "[3/9, 0:00:01 elapsed, eta 0:00:05] sw/d/dagmm/seed2: 49 of 1000 rows flagged \
                    (test_contamination): precision 0.3469, recall 0.3469, F1 0.3469, ROC AUC 0.8824";
        let wrapped = wrap(line, 60);
        for l in wrapped.lines() {
            assert!(l.chars().count() <= 60, "{l}");
        }
        assert_eq!(wrapped.replace("\n    ", " "), line);
        assert!(wrapped.contains("\n    "));
        assert_eq!(wrap("short", 60), "short");
    }

    #[test]
    fn clock_reads_hours_minutes_seconds() {
        assert_eq!(clock(Duration::from_secs(3 * 3600 + 7 * 60 + 5)), "3:07:05");
        assert_eq!(clock(Duration::from_millis(999)), "0:00:00");
    }

    #[test]
    fn em_lines_name_the_iteration_bound_and_change() {
        let mut it = EmIteration {
            init: 2,
            n_init: 3,
            iteration: 12,
            max_iter: 100,
            lower_bound: -17.949771,
            change: 3.2e-4,
            tol: 1e-3,
        };
        assert_eq!(
            em_message(&it),
            "EM init 2/3, iteration 12/100: lower bound -17.94977 (change 3.2e-4, stops below 1e-3)"
        );
        it.n_init = 1;
        it.change = f64::INFINITY;
        assert_eq!(
            em_message(&it),
            "EM iteration 12/100: lower bound -17.94977"
        );
    }
}
