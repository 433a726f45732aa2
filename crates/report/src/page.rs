//! `report.html`: the whole report as one self-contained page (no script, no file beside it):
//! the experiment's description, the tables, every plot inline as a PNG data URL, the
//! experiment file, the commands that made the runs, and the hosts and versions their manifests
//! name. A researcher can open it or send it as one file.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine as _;

use dagmm_run_folder::Manifest;

/// One picture of a report: its file stem below `plots/` and what it shows.
pub struct Figure {
    pub stem: String,
    pub caption: String,
    /// The data set it shows (the plots section groups by it).
    pub data: String,
}

/// What the page is made of, each part already written to `dir`.
pub struct Page<'a> {
    pub dir: &'a Path,
    /// The experiment file's text and its `description`, when `dir` holds one.
    pub experiment: Option<(String, Option<String>)>,
    /// `(title, markdown)` of each table file, in page order.
    pub tables: Vec<(&'a str, String)>,
    pub figures: &'a [Figure],
    pub manifests: Vec<&'a Manifest>,
    pub runs: usize,
    /// The summary's sentences (best method per data set, by how much, with what confidence).
    pub summary: Vec<String>,
    /// The runs the experiment lists that the report lacks, a line per method and data set.
    pub missing: Vec<String>,
}

/// Tables the page folds away (long, and read less often than the rest).
const FOLDED: &[&str] = &["F1 at each percentile", "Threshold rules"];

const STYLE: &str = "
body { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; margin: 2em auto;
       max-width: 1250px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.8em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.35em; text-align: left; vertical-align: top; }
th { font-weight: 600; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
.wide { overflow-x: auto; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 1em; } .meta { color: #666; font-size: 0.9em; }
";

/// Writes `report.html` into the page's folder.
pub fn write_html(page: &Page) -> Result<()> {
    let title = page
        .dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| page.dir.display().to_string());
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>dagmm report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>dagmm report: {}</h1>\n<p class=\"meta\">{} runs; written by dagmm {} on {}.</p>\n",
        escape(&title),
        escape(&title),
        page.runs,
        env!("CARGO_PKG_VERSION"),
        dagmm_run_folder::manifest::now().1,
    );
    h.push_str("<nav><a href=\"#summary\">Summary</a><a href=\"#tables\">Tables</a>");
    for (title, _) in &page.tables {
        let _ = write!(h, "<a href=\"#{}\">{}</a>", anchor(title), escape(title));
    }
    h.push_str("<a href=\"#plots\">Plots</a>");
    for data in plot_groups(page.figures) {
        let _ = write!(
            h,
            "<a href=\"#plots-{}\">{}</a>",
            anchor(data),
            escape(data)
        );
    }
    if page.experiment.is_some() {
        h.push_str("<a href=\"#experiment\">Experiment file</a>");
    }
    h.push_str("<a href=\"#provenance\">Commands, hosts and versions</a></nav>\n");
    if let Some((_, Some(description))) = &page.experiment {
        let _ = writeln!(h, "<p>{}</p>", inline(description));
    }
    h.push_str("<h2 id=\"summary\">Summary</h2>\n");
    if !page.missing.is_empty() {
        let _ = writeln!(
            h,
            "<p><b>This report holds {} runs; the experiment file lists more, which have not \
             run (or not to their end), so the figures below rest on fewer seeds than it says:</b></p>\n<ul>",
            page.runs
        );
        for m in &page.missing {
            let _ = writeln!(h, "<li>{}</li>", inline(m));
        }
        h.push_str("</ul>\n");
    }
    if page.summary.is_empty() {
        h.push_str("<p>No run has an F1 to compare.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for sentence in &page.summary {
            let _ = writeln!(h, "<li>{}</li>", inline(sentence));
        }
        h.push_str("</ul>\n");
    }
    h.push_str(
        "<h2 id=\"tables\">Tables</h2>\n<p class=\"meta\">Bold: the best mean of its \
                column on its data set.</p>\n",
    );
    for (title, md) in &page.tables {
        if FOLDED.contains(title) {
            let _ = writeln!(
                h,
                "<details id=\"{}\"><summary><b>{}</b> (folded: click to open)</summary>",
                anchor(title),
                escape(title)
            );
            markdown_to_html(md, &mut h);
            h.push_str("</details>\n");
        } else {
            let _ = writeln!(h, "<h3 id=\"{}\">{}</h3>", anchor(title), escape(title));
            markdown_to_html(md, &mut h);
        }
    }
    h.push_str("<h2 id=\"plots\">Plots</h2>\n");
    let mut current: Option<&str> = None;
    for f in page.figures {
        let data = f.data.as_str();
        if current != Some(data) {
            let _ = writeln!(h, "<h3 id=\"plots-{}\">{}</h3>", anchor(data), escape(data));
            current = Some(data);
        }
        let png = page.dir.join("plots").join(format!("{}.png", f.stem));
        let bytes =
            std::fs::read(&png).with_context(|| format!("cannot read {}", png.display()))?;
        let _ = writeln!(
            h,
            "<figure id=\"{}\"><img alt=\"{}\" src=\"data:image/png;base64,{}\">\
             <figcaption>{} (<code>plots/{}.svg</code>)</figcaption></figure>",
            escape(&f.stem),
            escape(&f.caption),
            base64::engine::general_purpose::STANDARD.encode(bytes),
            escape(&f.caption),
            escape(&f.stem),
        );
    }
    if let Some((text, _)) = &page.experiment {
        let _ = writeln!(
            h,
            "<h2 id=\"experiment\">Experiment file</h2>\n<pre>{}</pre>",
            escape(text)
        );
    }
    provenance(&page.manifests, &mut h);
    h.push_str("</body>\n</html>\n");
    dagmm_pipeline::files::write_bytes(&page.dir.join("report.html"), h.as_bytes())?;
    Ok(())
}

/// A heading's anchor: lower case, runs of other characters as `-`.
fn anchor(title: &str) -> String {
    let mut a = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            a.push(c.to_ascii_lowercase());
        } else if !a.ends_with('-') {
            a.push('-');
        }
    }
    a.trim_matches('-').to_string()
}

/// The figures' data sets, in page order.
fn plot_groups(figures: &[Figure]) -> Vec<&str> {
    let mut groups: Vec<&str> = Vec::new();
    for f in figures {
        if !groups.contains(&f.data.as_str()) {
            groups.push(&f.data);
        }
    }
    groups
}

/// The commands, hosts, versions, commits and devices the runs' manifests name, each once.
fn provenance(manifests: &[&Manifest], h: &mut String) {
    h.push_str("<h2 id=\"provenance\">Commands, hosts and versions</h2>\n");
    if manifests.is_empty() {
        h.push_str("<p>No run folder holds a manifest.</p>\n");
        return;
    }
    let commands: BTreeSet<String> = manifests
        .iter()
        .map(|m| {
            m.command
                .iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    h.push_str("<p>The commands that made the runs:</p>\n<pre>");
    for c in &commands {
        let _ = writeln!(h, "{}", escape(c));
    }
    h.push_str("</pre>\n");
    let mut rows: BTreeSet<[String; 6]> = BTreeSet::new();
    for m in manifests {
        let device = match (&m.device, &m.adapter) {
            (_, Some(a)) => format!("{} ({}, {})", a.name, a.device_type, a.backend),
            (Some(d), None) => d.to_string(),
            (None, None) => "CPU".into(),
        };
        let commit = m.git.commit.as_deref().map_or("–".to_string(), |c| {
            let short: String = c.chars().take(10).collect();
            if m.git.dirty == Some(true) {
                format!("{short} (modified)")
            } else {
                short
            }
        });
        rows.insert([
            m.host.hostname.clone().unwrap_or_else(|| "–".into()),
            format!("{} {}, {} CPUs", m.host.os, m.host.arch, m.host.cpus),
            device,
            format!(
                "dagmm {}, burn {}, {}",
                m.versions.dagmm, m.versions.burn, m.versions.rustc
            ),
            commit,
            m.finished_at.chars().take(10).collect(),
        ]);
    }
    h.push_str(
        "<div class=\"wide\"><table><tr><th>host</th><th>system</th><th>device</th>\
         <th>versions</th><th>commit</th><th>finished</th></tr>\n",
    );
    for row in rows {
        h.push_str("<tr>");
        for cell in row {
            let _ = write!(h, "<td>{}</td>", escape(&cell));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");
}

/// A command-line word as a POSIX shell reads it back.
fn shell_word(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escaped text with `code` spans.
fn inline(s: &str) -> String {
    let html: String = escape(s)
        .split("**")
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<b>{part}</b>")
            } else {
                part.to_string()
            }
        })
        .collect();
    html.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// The report's own Markdown (paragraphs, `###` headings, pipe tables) as HTML.
fn markdown_to_html(md: &str, h: &mut String) {
    let mut in_table = false;
    let mut header = true;
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, h: &mut String| {
        if !paragraph.trim().is_empty() {
            let _ = writeln!(h, "<p>{}</p>", inline(paragraph.trim()));
        }
        paragraph.clear();
    };
    for line in md.lines() {
        let t = line.trim();
        if t.starts_with('|') {
            flush(&mut paragraph, h);
            if !in_table {
                h.push_str("<div class=\"wide\"><table>\n");
                in_table = true;
                header = true;
            }
            let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-'))
            {
                continue;
            }
            let tag = if header { "th" } else { "td" };
            h.push_str("<tr>");
            for c in cells {
                let _ = write!(h, "<{tag}>{}</{tag}>", inline(c));
            }
            h.push_str("</tr>\n");
            header = false;
            continue;
        }
        if in_table {
            h.push_str("</table></div>\n");
            in_table = false;
        }
        if let Some(title) = t.strip_prefix("### ") {
            flush(&mut paragraph, h);
            let _ = writeln!(h, "<h4>{}</h4>", inline(title));
        } else if t.is_empty() {
            flush(&mut paragraph, h);
        } else {
            paragraph.push_str(t);
            paragraph.push(' ');
        }
    }
    if in_table {
        h.push_str("</table></div>\n");
    }
    flush(&mut paragraph, h);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_tables_headings_and_paragraphs() {
        let mut h = String::new();
        markdown_to_html(
            "Top `P`% <flagged>.\n\n### kddcup: DAGMM\n\n| a | b |\n|---|---|\n| 1 | x & y |\n",
            &mut h,
        );
        assert_eq!(
            h,
            "<p>Top <code>P</code>% &lt;flagged&gt;.</p>\n<h4>kddcup: DAGMM</h4>\n\
             <div class=\"wide\"><table>\n<tr><th>a</th><th>b</th></tr>\n\
             <tr><td>1</td><td>x &amp; y</td></tr>\n</table></div>\n"
        );
    }

    #[test]
    fn shell_words_quote_what_a_shell_would_split() {
        assert_eq!(shell_word("--out"), "--out");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
