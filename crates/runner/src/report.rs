//! `dagmm report DIR [--out OUT]`: writes the report (`dagmm_report`) and prints its main table
//! and the files it wrote.

use std::path::Path;

use anyhow::Result;
use dagmm_report::{default_report_dir, write_report};

/// `dagmm report DIR`: writes the report and prints the main table and the files it wrote
/// (the pictures as one line per folder).
pub fn print_report(source: &Path, out: Option<&Path>) -> Result<()> {
    let dir = &out.map_or_else(|| default_report_dir(source), Path::to_path_buf);
    let written = write_report(source, dir)?;
    for w in &written.warnings {
        eprintln!("warning: {w}");
    }
    print!("{}", written.table);
    println!("\nwrote:");
    let pictures = written
        .files
        .iter()
        .filter(|f| f.parent().is_some_and(|p| p.ends_with("plots")))
        .count();
    for f in written
        .files
        .iter()
        .filter(|f| !f.parent().is_some_and(|p| p.ends_with("plots")))
    {
        println!("  {}", f.display());
    }
    if pictures > 0 {
        println!(
            "  {}: {} plots, each as .png and .svg",
            dir.join("plots").display(),
            pictures / 2
        );
    }
    Ok(())
}
