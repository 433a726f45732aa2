//! `report.html` in a real browser: a small sweep is reported, and headless Chromium loads the
//! page without an error, decodes every image, and draws a screenshot that is not blank; every
//! committed result folder, reported again from its run folders, passes the same check.
//!
//! Chromium is Debian's `chromium` package (or `DAGMM_CHROMIUM`, a browser binary). Without one
//! the browser part says `skipped`, unless `DAGMM_REQUIRE_CHROMIUM=1` (set by `.ci/run`), where
//! that is a failure. The page itself is checked either way.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{copy_dir, dagmm, text, write_data};

/// The browser to drive: `DAGMM_CHROMIUM`, else the first of Debian's names on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DAGMM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser", "google-chrome"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// A sweep of DAGMM (3 epochs, two seeds) and an EM GMM on the toy file, reported into `out`.
fn reported_sweep(dir: &Path) -> PathBuf {
    let data = write_data(dir);
    std::fs::create_dir_all(dir.join("configs")).unwrap();
    std::fs::write(
        dir.join("configs/dagmm.toml"),
        format!(
            "[data]\nsource = \"file\"\npath = \"{}\"\nlabel_column = \"label\"\n\
             [evaluation]\nanomaly_percentile = 10.0\n\
             [compression]\nencoder_layers = [6, 1]\n\
             [estimation]\nn_components = 2\n\
             [training]\nbatch_size = 128\nepochs = 3\n",
            data.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("configs/gmm.toml"),
        format!(
            "[model]\nkind = \"gmm\"\n\
             [data]\nsource = \"file\"\npath = \"{}\"\nlabel_column = \"label\"\n\
             [evaluation]\nanomaly_percentile = 10.0\n[gmm]\nn_components = 2\n",
            data.display()
        ),
    )
    .unwrap();
    let exp = dir.join("exp.toml");
    std::fs::write(
        &exp,
        "description = \"A toy `report.html` check <with markup> & more.\"\nseeds = [0, 1]\n\
         [[run]]\nname = \"dagmm\"\nlabel = \"DAGMM\"\nconfig = \"configs/dagmm.toml\"\n\
         [[run]]\nname = \"gmm\"\nlabel = \"GMM\"\nconfig = \"configs/gmm.toml\"\n\
         [[run]]\nname = \"dagmm\"\nlabel = \"DAGMM\"\nconfig = \"configs/dagmm.toml\"\ndata = \"again\"\n\
         [[run]]\nname = \"gmm\"\nlabel = \"GMM\"\nconfig = \"configs/gmm.toml\"\ndata = \"again\"\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::copy(&exp, out.join("experiment.toml")).unwrap();
    let o = dagmm(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains(&format!("{}", out.join("report.html").display())),
        "the report lists what it wrote: {said}"
    );
    out
}

/// The PNG's pixels: how many are not near-white, and how many distinct colours there are.
fn ink(png_file: &Path) -> (f64, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(png_file).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0usize;
    let n = pixels.len() / channels;
    for p in pixels.chunks(channels) {
        colours.insert(p[..3.min(channels)].to_vec());
        if p[..3.min(channels)].iter().any(|&c| c < 230) {
            inked += 1;
        }
    }
    (inked as f64 / n as f64, colours.len())
}

#[test]
fn report_html_loads_every_image_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = reported_sweep(dir.path());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // One self-contained page: every PNG inline, nothing loaded from beside it.
    let pngs = std::fs::read_dir(out.join("plots"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert!(pngs >= 5, "{pngs} plots");
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), pngs);
    assert!(
        !html.contains("src=\"plots/"),
        "no image is loaded from a file"
    );
    for part in [
        "<table>",
        "DAGMM",
        "GMM",
        "F1 at each percentile",
        "A toy <code>report.html</code> check &lt;with markup&gt; &amp; more.",
        "[[run]]",
        " sweep ",
        "burn 0.22.1",
        // The summary, the paired comparisons, the folded tables, the table of contents, the
        // best values marked and the critical-difference diagram across the two data sets.
        "<h2 id=\"summary\">Summary</h2>\n<ul>\n<li>On again, ",
        "over their 2 common seeds the difference is",
        "<h3 id=\"paired-comparisons\">Paired comparisons</h3>",
        "<details id=\"f1-at-each-percentile\">",
        "<a href=\"#plots-again\">again</a>",
        "<b>",
        "Average rank of mean F1 over the 2 data sets",
    ] {
        assert!(html.contains(part), "report.html lacks {part:?}");
    }

    let Some(browser) = browser() else {
        return;
    };
    check_page(&browser, &out.join("report.html"), pngs);
}

/// The browser, or `None` (with `skipped` said) where there is none and none is required.
fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var("DAGMM_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "DAGMM_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install chromium, or set DAGMM_CHROMIUM)");
    }
    found
}

/// Runs the browser on `page` with `extra` arguments; its standard output.
fn browse(browser: &Path, extra: &[&str], page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `page` loads in the browser without an error, its `images` images all decode, and its
/// screenshot is not blank.
fn check_page(browser: &Path, page: &Path, images: usize) {
    // A copy of the page with a probe that records every error (a script's, or a resource that
    // failed) and, once the page has loaded, whether each image decoded.
    let probe = "<script>window.__errors=[];\
        addEventListener('error',e=>{__errors.push(String(e.message||(e.target&&e.target.src)||'error').slice(0,120))},true);\
        addEventListener('load',()=>{const im=[...document.images];const p=document.createElement('pre');\
        const wide=[...document.querySelectorAll('.wide')].filter(w=>w.offsetParent!==null&&w.scrollWidth>w.clientWidth+1).map(w=>w.scrollWidth);\
        const dead=[...document.querySelectorAll('nav a')].map(a=>a.getAttribute('href').slice(1)).filter(id=>!document.getElementById(id));\
        p.id='dagmm-check';p.textContent=JSON.stringify({images:im.length,\
        bad:im.filter(i=>!(i.complete&&i.naturalWidth>0)).map(i=>i.alt),errors:__errors,wide:wide,dead:dead});\
        document.body.appendChild(p);});</script>";
    let scratch = tempfile::tempdir().unwrap();
    let probed = scratch.path().join("probed.html");
    let html = std::fs::read_to_string(page).unwrap();
    std::fs::write(
        &probed,
        html.replacen("<head>", &format!("<head>{probe}"), 1),
    )
    .unwrap();
    let dom = browse(
        browser,
        &[
            "--virtual-time-budget=10000",
            "--window-size=1280,2400",
            "--dump-dom",
        ],
        &probed,
    );
    let check = dom
        .split("<pre id=\"dagmm-check\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("{}: the page never finished loading", page.display()));
    let check: serde_json::Value = serde_json::from_str(&check.replace("&quot;", "\"")).unwrap();
    let at = page.display();
    assert_eq!(check["images"], images, "{at}: {check}");
    assert_eq!(
        check["bad"],
        serde_json::json!([]),
        "{at}: images that did not decode: {check}"
    );
    assert_eq!(
        check["errors"],
        serde_json::json!([]),
        "{at}: errors: {check}"
    );
    // In a 1280-pixel window no open table scrolls sideways, and every link of the table of
    // contents has its heading.
    assert_eq!(
        check["wide"],
        serde_json::json!([]),
        "{at}: tables wider than the window: {check}"
    );
    assert_eq!(
        check["dead"],
        serde_json::json!([]),
        "{at}: contents links without a target: {check}"
    );
    // The page as a reader sees it: text, tables and plots, not a blank window.
    let shot = scratch.path().join("shot.png");
    browse(
        browser,
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", shot.display()),
        ],
        page,
    );
    let (inked, colours) = ink(&shot);
    assert!(
        inked > 0.03 && colours > 50,
        "{at}: the screenshot looks blank: {:.1}% of pixels inked, {colours} colours",
        100.0 * inked
    );
}

/// Every committed sweep folder is reported again by `dagmm report` from its run
/// folders alone (its pages are not committed: they embed the plots), in a copy, and each page
/// passes the same check.
#[test]
fn committed_reports_load_in_headless_chromium() {
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results");
    let scratch = tempfile::tempdir().unwrap();
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&results).unwrap() {
        let dir = entry.unwrap().path();
        // A sweep's folder (`dagmm sweep` copies its experiment file in).
        if !dir.join("experiment.toml").is_file() {
            continue;
        }
        let copy = scratch.path().join(dir.file_name().unwrap());
        copy_dir(&dir, &copy);
        let _ = std::fs::remove_file(copy.join("report.html"));
        let o = dagmm(&["report", copy.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "dagmm report {}: {}",
            dir.display(),
            text(&o)
        );
        let page = copy.join("report.html");
        assert!(
            page.is_file(),
            "dagmm report {} wrote no report.html",
            dir.display()
        );
        let html = std::fs::read_to_string(&page).unwrap();
        pages.push((page, html.matches("src=\"data:image/png;base64,").count()));
    }
    assert!(
        pages.len() >= 5,
        "{} reports under {}",
        pages.len(),
        results.display()
    );
    let Some(browser) = browser() else {
        return;
    };
    for (page, images) in pages {
        check_page(&browser, &page, images);
    }
}
