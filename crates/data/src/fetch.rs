//! Checksum-checked downloads of the known remote data sets, and the one lookup order for data files.
//!
//! [`fetch`] downloads every file of a known data set (see [`KNOWN_DATASETS`]) into
//! `<dir>/<name>/<file>`, the same layout as the shared data folder, through [`download_checked`]:
//! the body is streamed to a temporary file beside the destination
//! ([`crate::atomic::write_atomically`]) while its sha256 is computed, and only a body with the
//! expected checksum is synced and renamed into place. On any failure the
//! temporary file is removed and an existing destination is left as it was, so no partial or
//! unchecked file is ever left under the final name. A destination that already has the right
//! checksum is not downloaded again.
//!
//! [`resolve`] is the lookup order every command uses: an explicit path, else
//! `$DAGMM_DATA_DIR/<relative>`, else `<default_cache_dir()>/<relative>`.
//!
//! This module does not parse any data set, does not retry, and does not read proxy settings from
//! the environment.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::atomic::write_atomically;
use crate::error::{DataError, Result};

/// One file of a remote data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// The file name, both on the server (under the data set's base URL) and on disk.
    pub name: &'static str,
    /// Lower-case hex sha256 of the file's bytes.
    pub sha256: &'static str,
}

/// A data set that [`fetch`] can download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteDataset {
    /// The name used on the command line (`kddcup99`, `odds`, `adbench:cardio`).
    pub name: &'static str,
    /// The folder under the data directory the files go to (`kddcup99`, `odds`, `adbench`): the
    /// shared data folder's layout, so the configs' relative paths (`odds/thyroid.mat`) find them.
    pub folder: &'static str,
    /// The folder URL the files are under, ending in `/`.
    pub base_url: &'static str,
    pub files: &'static [RemoteFile],
}

/// ODDS (Rayana 2016) as PyOD redistributes it, pinned to the commit that added the files.
const ODDS_URL: &str = "https://raw.githubusercontent.com/yzhao062/pyod/ef6d5e8dc828615f498286c1d6a22cbd02fd4cd2/notebooks/data/";
/// ADBench's Classical tabular sets (Han et al. 2022), pinned to a commit of its repository.
const ADBENCH_URL: &str = "https://raw.githubusercontent.com/Minqi824/ADBench/3dac8221081e190f157d78e93bfa8867f90d0965/adbench/datasets/Classical/";

/// One ADBench Classical set: its command-line name, its file, the file's sha256.
macro_rules! adbench {
    ($name:literal, $file:literal, $sha:literal) => {
        RemoteDataset {
            name: $name,
            folder: "adbench",
            base_url: ADBENCH_URL,
            files: &[RemoteFile {
                name: $file,
                sha256: $sha,
            }],
        }
    };
}

/// Every data set [`fetch`] knows: KDDCUP99 from the UCI archive, ODDS's Thyroid and Arrhythmia
/// (the DAGMM paper's), and ADBench's Classical sets whose files its repository holds (every one
/// but backdoor, census, fraud and speech, stored there as large files). The checksums were
/// computed from the files themselves; ODDS's and ADBench's Thyroid are those of
/// `../shared/data/odds/`.
pub const KNOWN_DATASETS: &[RemoteDataset] = &[
    RemoteDataset {
        name: "kddcup99",
        folder: "kddcup99",
        base_url: "http://kdd.ics.uci.edu/databases/kddcup99/",
        files: &[
            RemoteFile {
                name: "kddcup.data_10_percent.gz",
                sha256: "8045aca0d84e70e622d1148d7df782496f6333bf6eb979a1b0837c42a9fd9561",
            },
            RemoteFile {
                name: "kddcup.names",
                sha256: "4b903fb4d68c17d02b5c776998c21fa9d9d8b018348849bed7aadeda21893386",
            },
        ],
    },
    RemoteDataset {
        name: "odds",
        folder: "odds",
        base_url: ODDS_URL,
        files: &[
            RemoteFile {
                name: "thyroid.mat",
                sha256: "49155d7861b977e90808faf68343ff67a67f63090c2744d514dbb67ac68e7e33",
            },
            RemoteFile {
                name: "arrhythmia.mat",
                sha256: "e4d47e499591ae31e5d7f0cd983367092353eac240f48e14c9b36457edb3460d",
            },
        ],
    },
    adbench!(
        "adbench:aloi",
        "1_ALOI.npz",
        "792d0b5bd1147bfc9574a1974f157b39fbd4cbed8ecd04cf983fd554498ed477"
    ), // 2904730 bytes
    adbench!(
        "adbench:annthyroid",
        "2_annthyroid.npz",
        "e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b"
    ), // 66547 bytes
    adbench!(
        "adbench:breastw",
        "4_breastw.npz",
        "4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6"
    ), // 3023 bytes
    adbench!(
        "adbench:campaign",
        "5_campaign.npz",
        "74dd4d0072d6c6f1aabab63bc102f9633454f32bb936fa9bcfbd38f9f2386bcd"
    ), // 728999 bytes
    adbench!(
        "adbench:cardio",
        "6_cardio.npz",
        "bc5009bde6930b4d298b594f31b34485a9a17210cff0e8fb00a8c3068b885a2d"
    ), // 68471 bytes
    adbench!(
        "adbench:cardiotocography",
        "7_Cardiotocography.npz",
        "5ae84910430f05923e11b6f537243263977c9136949dabd891e3570aeec51e29"
    ), // 37911 bytes
    adbench!(
        "adbench:celeba",
        "8_celeba.npz",
        "1cadfdea14cd8d240eca715a70c09c88af8621d086a7478c63f602d97adef0b5"
    ), // 1700937 bytes
    adbench!(
        "adbench:cover",
        "10_cover.npz",
        "945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df"
    ), // 2537258 bytes
    adbench!(
        "adbench:donors",
        "11_donors.npz",
        "5824ec854465f2763b4bfe3da1ae9f25ed5433b5c6e265d42e37da4f82a58679"
    ), // 2938691 bytes
    adbench!(
        "adbench:fault",
        "12_fault.npz",
        "ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd"
    ), // 192040 bytes
    adbench!(
        "adbench:glass",
        "14_glass.npz",
        "aa7a8db1d475ba01a10488af454bc15220a3d5951b010b03b7020567d8152cdc"
    ), // 10755 bytes
    adbench!(
        "adbench:hepatitis",
        "15_Hepatitis.npz",
        "4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98"
    ), // 1644 bytes
    adbench!(
        "adbench:http",
        "16_http.npz",
        "9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c"
    ), // 2179269 bytes
    adbench!(
        "adbench:internetads",
        "17_InternetAds.npz",
        "bdd8ad5cf5bf2cb96cba53dde30d522d0f6a279083a8e2bc7efbac5981b04385"
    ), // 78157 bytes
    adbench!(
        "adbench:ionosphere",
        "18_Ionosphere.npz",
        "bca46cb0cfd1bf9ddef6cde5ad2215d54fb0189508d0d4c4eb98e788cad69001"
    ), // 42913 bytes
    adbench!(
        "adbench:landsat",
        "19_landsat.npz",
        "ba17e2158c07469597b89db49d3982c874c6b713ff6670721ddc88969da77987"
    ), // 223827 bytes
    adbench!(
        "adbench:letter",
        "20_letter.npz",
        "f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039"
    ), // 23946 bytes
    adbench!(
        "adbench:lymphography",
        "21_Lymphography.npz",
        "dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037"
    ), // 1895 bytes
    adbench!(
        "adbench:magic.gamma",
        "22_magic.gamma.npz",
        "0be375984d7af9ea7a63b12206c240840d8b7daa3607021c5fb8756407dd86f1"
    ), // 1296704 bytes
    adbench!(
        "adbench:mammography",
        "23_mammography.npz",
        "a0308ac9712d78321073b1c2dc98dc37665c0f35c1cc33019416fe8f8d7de7ea"
    ), // 166764 bytes
    adbench!(
        "adbench:mnist",
        "24_mnist.npz",
        "be7706272325fdd3592c1be555ae1a82f916a2f8545f4f8cbaa548ab102cc44c"
    ), // 455359 bytes
    adbench!(
        "adbench:musk",
        "25_musk.npz",
        "2ed3f4392197b76a1e59116ff880c7720a4b026cf4842073a53b56fdea265017"
    ), // 736255 bytes
    adbench!(
        "adbench:optdigits",
        "26_optdigits.npz",
        "60de17a375a278ba220a7849727d998aa02b5e2f9fd17732a004bba28de4656e"
    ), // 197633 bytes
    adbench!(
        "adbench:pageblocks",
        "27_PageBlocks.npz",
        "10a9b4d5bb5d3b9083caab4c4062f665610eada703c3d927bf7c34b1f2d0d223"
    ), // 102998 bytes
    adbench!(
        "adbench:pendigits",
        "28_pendigits.npz",
        "c4936b89dcdad59d303020e492f763a0f54170080d787c77497609acbb9c2d79"
    ), // 653509 bytes
    adbench!(
        "adbench:pima",
        "29_Pima.npz",
        "215454bb263a2f040945c9ea7bd7f06f1e89a61a3143bdb6f196e3887e801a7d"
    ), // 11023 bytes
    adbench!(
        "adbench:satellite",
        "30_satellite.npz",
        "1f048f5686f1b8c16a227fdfa3c81a62cd9a92715714a6b24c69b1c5ad96b46e"
    ), // 129874 bytes
    adbench!(
        "adbench:satimage-2",
        "31_satimage-2.npz",
        "1b056e357f801b8b20c3f380a30224a3c4088d7ed764ec5a24828dc9b1918d6f"
    ), // 181405 bytes
    adbench!(
        "adbench:shuttle",
        "32_shuttle.npz",
        "26900b0f6be45d9ddb7a402c9b2f956ceda42d23a8ca4cf4406b8bc1352823d1"
    ), // 332929 bytes
    adbench!(
        "adbench:skin",
        "33_skin.npz",
        "d02aa01ffc1b6bf2b8b1ac250c90e8a8eacd0cefc962940ed5cc4bf5deac9c95"
    ), // 618680 bytes
    adbench!(
        "adbench:smtp",
        "34_smtp.npz",
        "d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd"
    ), // 496392 bytes
    adbench!(
        "adbench:spambase",
        "35_SpamBase.npz",
        "d0c46c7928e43f6496bcd06e09de0b70f6bc8143792dfa0a43f450263d254e9b"
    ), // 152038 bytes
    adbench!(
        "adbench:stamps",
        "37_Stamps.npz",
        "99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509"
    ), // 20569 bytes
    adbench!(
        "adbench:thyroid",
        "38_thyroid.npz",
        "8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87"
    ), // 39882 bytes
    adbench!(
        "adbench:vertebral",
        "39_vertebral.npz",
        "0816286f92b96fe6867664a41a031ac7228dcfbf1a5feefe50ca3883b2e9073d"
    ), // 4868 bytes
    adbench!(
        "adbench:vowels",
        "40_vowels.npz",
        "4bfc4244d1c882773bbbc50d4a5db5e52276e53506e46b2d45e02d074cfcb1b6"
    ), // 134268 bytes
    adbench!(
        "adbench:waveform",
        "41_Waveform.npz",
        "6c9d867337ad1a2f8372c1d27f4c032f0401237e2041b7c45f00de8d319ff30f"
    ), // 145028 bytes
    adbench!(
        "adbench:wbc",
        "42_WBC.npz",
        "650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b"
    ), // 1444 bytes
    adbench!(
        "adbench:wdbc",
        "43_WDBC.npz",
        "78d4606a1ab516f5b60b00c196497f3bbd6bd5e4548fd04cf5f2475209b34b85"
    ), // 46770 bytes
    adbench!(
        "adbench:wilt",
        "44_Wilt.npz",
        "c70b72aa611ec87b20efb400943ef3ce4f8bf7aa58fcef825fbd28cc5cee3cc9"
    ), // 134531 bytes
    adbench!(
        "adbench:wine",
        "45_wine.npz",
        "d5ad8965d92cc57122fe1e6572bb301adbaf795b3e166d187ae00a704d8f6e20"
    ), // 4072 bytes
    adbench!(
        "adbench:wpbc",
        "46_WPBC.npz",
        "68a6d67242643855713bcdad07d89ecc472bd00000dccc17ba87916eb2693d19"
    ), // 44367 bytes
    adbench!(
        "adbench:yeast",
        "47_yeast.npz",
        "bbb15c873d78a4f6a589f46d0f75814595e2282d2ae7ce7779c750f276c3770d"
    ), // 14707 bytes
];

/// The known data set called `name`.
pub fn known_dataset(name: &str) -> Result<&'static RemoteDataset> {
    KNOWN_DATASETS
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| DataError::UnknownDataset(name.to_string()))
}

fn non_empty_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where downloads go by default: `$DAGMM_CACHE_DIR`, else `$XDG_CACHE_HOME/dagmm`, else
/// `$HOME/.cache/dagmm` (empty variables count as unset; with none of them, `.cache/dagmm` under
/// the current directory).
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = non_empty_var("DAGMM_CACHE_DIR") {
        return dir;
    }
    if let Some(dir) = non_empty_var("XDG_CACHE_HOME") {
        return dir.join("dagmm");
    }
    non_empty_var("HOME")
        .unwrap_or_default()
        .join(".cache")
        .join("dagmm")
}

/// Downloads every file of the known data set `name` into `<dir>/<folder>/`, checking each sha256;
/// returns the files' paths, in the registry's order. Files already present with the right
/// checksum are not downloaded again.
pub fn fetch(name: &str, dir: &Path) -> Result<Vec<PathBuf>> {
    let dataset = known_dataset(name)?;
    fetch_from(name, dir, dataset.base_url)
}

/// [`fetch`] from another folder URL (a mirror, or a local server in tests) holding the same files.
pub fn fetch_from(name: &str, dir: &Path, base_url: &str) -> Result<Vec<PathBuf>> {
    let dataset = known_dataset(name)?;
    let folder = dir.join(dataset.folder);
    let base = base_url.trim_end_matches('/');
    let mut paths = Vec::with_capacity(dataset.files.len());
    for file in dataset.files {
        let dest = folder.join(file.name);
        download_checked(&format!("{base}/{}", file.name), file.sha256, &dest)?;
        paths.push(dest);
    }
    Ok(paths)
}

/// Lower-case hex sha256 of the file at `path`.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DataError::io(path, e)),
        };
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Downloads `url` to `dest` unless `dest` already has the sha256 `expected_sha256` (hex, either
/// case). The body goes to a temporary file beside `dest` ([`write_atomically`]), hashed on the
/// way; only when its checksum matches is it synced and renamed onto `dest`. On any failure (HTTP
/// error status, connection error, short body, checksum mismatch) the temporary file is removed
/// and an existing `dest` is left untouched. A mismatch is [`DataError::Checksum`]; network and
/// HTTP failures are [`DataError::Download`].
pub fn download_checked(url: &str, expected_sha256: &str, dest: &Path) -> Result<()> {
    let expected = expected_sha256.trim().to_ascii_lowercase();
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DataError::InvalidArgument(format!(
            "`{expected_sha256}` is not a sha256 (64 hex digits)"
        )));
    }
    if dest.is_file() && sha256_file(dest)? == expected {
        return Ok(());
    }
    if dest.file_name().is_none() {
        return Err(DataError::InvalidArgument(format!(
            "{} does not name a file",
            dest.display()
        )));
    }
    let folder = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&folder).map_err(|e| DataError::io(&folder, e))?;

    let download_error = |message: String| DataError::Download {
        url: url.to_string(),
        message,
    };
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .build();
    // `identity`: the bytes as stored, never a transparently decompressed body.
    let response = match agent.get(url).set("Accept-Encoding", "identity").call() {
        Ok(response) => response,
        Err(ureq::Error::Status(code, response)) => {
            return Err(download_error(format!(
                "HTTP status {code} {}",
                response.status_text()
            )))
        }
        Err(e) => return Err(download_error(e.to_string())),
    };
    let content_length: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());

    write_atomically(dest, |out| {
        let mut body = response.into_reader();
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        let mut received: u64 = 0;
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(download_error(format!(
                        "reading the body after {received} bytes: {e}"
                    )))
                }
            };
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])
                .map_err(|e| DataError::io(out.path(), e))?;
            received += n as u64;
        }
        if let Some(length) = content_length {
            if received != length {
                return Err(download_error(format!(
                    "the body ended after {received} of {length} bytes"
                )));
            }
        }
        let actual = hex(&hasher.finalize());
        if actual != expected {
            return Err(DataError::Checksum {
                path: dest.to_path_buf(),
                expected: expected.clone(),
                actual,
            });
        }
        out.as_file()
            .sync_all()
            .map_err(|e| DataError::io(out.path(), e))
    })
    .map_err(|e| e.into_error(|e| DataError::io(dest, e)))?;
    // Make the rename itself durable where directories can be synced (best effort).
    if let Ok(dir) = File::open(&folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Finds a data file: `explicit` if given (it must exist), else `$DAGMM_DATA_DIR/<relative>`, else
/// `<default_cache_dir()>/<relative>`. [`DataError::NotFound`] lists every place searched.
pub fn resolve(relative: &str, explicit: Option<&Path>) -> Result<PathBuf> {
    resolve_in(
        relative,
        explicit,
        non_empty_var("DAGMM_DATA_DIR").as_deref(),
        &default_cache_dir(),
    )
}

/// [`resolve`] with the data and cache directories given instead of read from the environment.
fn resolve_in(
    relative: &str,
    explicit: Option<&Path>,
    data_dir: Option<&Path>,
    cache_dir: &Path,
) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if path.exists() {
            return Ok(path.to_path_buf());
        }
        return Err(DataError::NotFound {
            name: path.display().to_string(),
            searched: format!("{} (given explicitly; it does not exist)", path.display()),
        });
    }
    let mut candidates = Vec::with_capacity(2);
    if let Some(dir) = data_dir {
        candidates.push(dir.join(relative));
    }
    candidates.push(cache_dir.join(relative));
    if let Some(found) = candidates.iter().find(|p| p.exists()) {
        return Ok(found.clone());
    }
    let mut searched = candidates
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if data_dir.is_none() {
        searched.push_str(" ($DAGMM_DATA_DIR is not set)");
    }
    let first = Path::new(relative)
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or("");
    let file = Path::new(relative)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("");
    let hint = match KNOWN_DATASETS
        .iter()
        .find(|d| d.folder == first && d.files.iter().any(|f| f.name == file))
        .or_else(|| KNOWN_DATASETS.iter().find(|d| d.name == first))
    {
        Some(d) => format!("run `dagmm data fetch {}` to download it", d.name),
        None => "pass the path explicitly or set DAGMM_DATA_DIR; `dagmm data fetch NAME` \
                 downloads kddcup99, odds (Thyroid, Arrhythmia) and ADBench's sets \
                 (`dagmm data list`)"
            .to_string(),
    };
    Err(DataError::NotFound {
        name: relative.to_string(),
        searched: format!("{searched}; {hint}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread::JoinHandle;
    use std::time::Instant;

    fn sha(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    fn ok_response(body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    /// A loopback HTTP/1.1 server answering at most `responses.len()` requests, the i-th with
    /// `responses[i]` (or, with `by_path`, the response whose path matches). Every accept waits at
    /// most `accept_timeout`; the thread returns the request paths it saw.
    struct Server {
        base: String,
        handle: JoinHandle<Vec<String>>,
    }

    impl Server {
        fn start(responses: Vec<(String, Vec<u8>)>, accept_timeout: Duration) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            let port = listener.local_addr().expect("local addr").port();
            listener.set_nonblocking(true).expect("nonblocking");
            let (ready_tx, ready_rx) = mpsc::channel();
            let handle = std::thread::spawn(move || {
                let _ = ready_tx.send(());
                let mut seen = Vec::new();
                for _ in 0..responses.len() {
                    let deadline = Instant::now() + accept_timeout;
                    let stream = loop {
                        match listener.accept() {
                            Ok((stream, _)) => break Some(stream),
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                if Instant::now() >= deadline {
                                    break None;
                                }
                                std::thread::sleep(Duration::from_millis(5));
                            }
                            Err(_) => break None,
                        }
                    };
                    let Some(mut stream) = stream else { break };
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                    let mut reader = std::io::BufReader::new(match stream.try_clone() {
                        Ok(s) => s,
                        Err(_) => break,
                    });
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        break;
                    }
                    loop {
                        let mut header = String::new();
                        match reader.read_line(&mut header) {
                            Ok(0) | Err(_) => break,
                            Ok(_) if header == "\r\n" || header == "\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("")
                        .to_string();
                    let response = responses
                        .iter()
                        .find(|(p, _)| p == &path)
                        .or_else(|| responses.get(seen.len()))
                        .map(|(_, r)| r.clone())
                        .unwrap_or_default();
                    seen.push(path);
                    let _ = stream.write_all(&response);
                    let _ = stream.flush();
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                }
                seen
            });
            let _ = ready_rx.recv_timeout(Duration::from_secs(10));
            Server {
                base: format!("http://127.0.0.1:{port}"),
                handle,
            }
        }

        /// The same response to the only expected request, whatever its path.
        fn one(response: Vec<u8>) -> Server {
            Server::start(vec![(String::new(), response)], Duration::from_secs(30))
        }

        fn url(&self, path: &str) -> String {
            format!("{}{path}", self.base)
        }

        fn requests(self) -> Vec<String> {
            self.handle.join().expect("server thread")
        }
    }

    /// Names in `dir` (to show that no temporary file is left behind).
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    const BODY: &[u8] = b"0,tcp,http,SF,181,5450,normal.\n";

    #[test]
    fn good_body_is_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("sub").join("file.gz");
        let server = Server::one(ok_response(BODY));
        download_checked(&server.url("/file.gz"), &sha(BODY).to_uppercase(), &dest)
            .expect("download");
        assert_eq!(server.requests(), vec!["/file.gz".to_string()]);
        assert_eq!(std::fs::read(&dest).expect("read"), BODY);
        assert_eq!(listing(dest.parent().expect("parent")), vec!["file.gz"]);
    }

    #[test]
    fn wrong_body_is_checksum_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("file.gz");
        let server = Server::one(ok_response(b"something else"));
        let err =
            download_checked(&server.url("/file.gz"), &sha(BODY), &dest).expect_err("mismatch");
        server.requests();
        match err {
            DataError::Checksum {
                path,
                expected,
                actual,
            } => {
                assert_eq!(path, dest);
                assert_eq!(expected, sha(BODY));
                assert_eq!(actual, sha(b"something else"));
            }
            other => panic!("expected Checksum, got {other:?}"),
        }
        assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    }

    #[test]
    fn short_body_is_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("file.gz");
        let body = vec![b'x'; 4000];
        let mut response =
            b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n".to_vec();
        response.extend_from_slice(&body);
        let server = Server::one(response);
        let err = download_checked(&server.url("/file.gz"), &sha(&body), &dest).expect_err("short");
        server.requests();
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
        assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    }

    #[test]
    fn http_404_is_download_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("file.gz");
        let server = Server::one(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                .to_vec(),
        );
        let url = server.url("/missing.gz");
        let err = download_checked(&url, &sha(BODY), &dest).expect_err("404");
        server.requests();
        match err {
            DataError::Download { url: u, message } => {
                assert_eq!(u, url);
                assert!(message.contains("404"), "{message}");
            }
            other => panic!("expected Download, got {other:?}"),
        }
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn connection_refused_is_download_error() {
        // A port that was free a moment ago: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("file.gz");
        let err = download_checked(&format!("http://127.0.0.1:{port}/f"), &sha(BODY), &dest)
            .expect_err("refused");
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn existing_good_file_makes_no_request() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("file.gz");
        std::fs::write(&dest, BODY).expect("write");
        let server = Server::start(
            vec![(String::new(), ok_response(b"must not be fetched"))],
            Duration::from_millis(300),
        );
        download_checked(&server.url("/file.gz"), &sha(BODY), &dest).expect("skip");
        assert!(server.requests().is_empty());
        assert_eq!(std::fs::read(&dest).expect("read"), BODY);
    }

    #[test]
    fn failed_redownload_keeps_existing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("file.gz");
        // An existing file whose checksum is not the expected one is downloaded again ...
        std::fs::write(&dest, b"old contents").expect("write");
        for response in [
            ok_response(b"wrong new contents"),
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nConnection: close\r\n\r\nshort".to_vec(),
        ] {
            let server = Server::one(response);
            let err = download_checked(&server.url("/file.gz"), &sha(BODY), &dest);
            assert_eq!(server.requests().len(), 1);
            assert!(err.is_err());
            // ... but a failed attempt leaves it as it was.
            assert_eq!(std::fs::read(&dest).expect("read"), b"old contents");
            assert_eq!(listing(dir.path()), vec!["file.gz"]);
        }
        // A good download replaces it.
        let server = Server::one(ok_response(BODY));
        download_checked(&server.url("/file.gz"), &sha(BODY), &dest).expect("download");
        server.requests();
        assert_eq!(std::fs::read(&dest).expect("read"), BODY);
        assert_eq!(listing(dir.path()), vec!["file.gz"]);
    }

    #[test]
    fn bad_checksum_argument() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = download_checked("http://127.0.0.1:9/x", "abc", &dir.path().join("x"));
        assert!(matches!(err, Err(DataError::InvalidArgument(_))));
    }

    #[test]
    fn fetch_unknown_dataset() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            fetch("nope", dir.path()),
            Err(DataError::UnknownDataset(name)) if name == "nope"
        ));
    }

    #[test]
    fn fetch_kddcup99_from_local_server_when_real_files_present() {
        let (Some(data), Some(names)) = (
            crate::test_support::shared_file("kddcup99/kddcup.data_10_percent.gz"),
            crate::test_support::shared_file("kddcup99/kddcup.names"),
        ) else {
            eprintln!("skipped: the real KDDCUP99 files are not available to serve");
            return;
        };
        let data_bytes = std::fs::read(&data).expect("read data");
        let names_bytes = std::fs::read(&names).expect("read names");
        let server = Server::start(
            vec![
                (
                    "/kddcup99/kddcup.data_10_percent.gz".to_string(),
                    ok_response(&data_bytes),
                ),
                (
                    "/kddcup99/kddcup.names".to_string(),
                    ok_response(&names_bytes),
                ),
            ],
            Duration::from_secs(30),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = fetch_from("kddcup99", dir.path(), &server.url("/kddcup99/")).expect("fetch");
        assert_eq!(server.requests().len(), 2);
        assert_eq!(
            paths,
            vec![
                dir.path().join("kddcup99/kddcup.data_10_percent.gz"),
                dir.path().join("kddcup99/kddcup.names"),
            ]
        );
        assert_eq!(std::fs::read(&paths[0]).expect("read"), data_bytes);
        assert_eq!(std::fs::read(&paths[1]).expect("read"), names_bytes);
        assert_eq!(
            listing(&dir.path().join("kddcup99")),
            vec!["kddcup.data_10_percent.gz", "kddcup.names"]
        );
        // A second fetch finds both files in place and makes no request.
        let idle = Server::start(
            vec![(String::new(), Vec::new())],
            Duration::from_millis(300),
        );
        fetch_from("kddcup99", dir.path(), &idle.url("/")).expect("second fetch");
        assert!(idle.requests().is_empty());
    }

    #[test]
    fn fetch_odds_and_an_adbench_set_from_a_local_server_when_real_files_present() {
        let (Some(thyroid), Some(arrhythmia), Some(npz)) = (
            crate::test_support::shared_file("odds/thyroid.mat"),
            crate::test_support::shared_file("odds/arrhythmia.mat"),
            crate::test_support::shared_file("odds/thyroid.npz"),
        ) else {
            eprintln!("skipped: the real ODDS files are not available to serve");
            return;
        };
        let read = |p: &Path| std::fs::read(p).expect("read");
        let server = Server::start(
            vec![
                (
                    "/odds/thyroid.mat".to_string(),
                    ok_response(&read(&thyroid)),
                ),
                (
                    "/odds/arrhythmia.mat".to_string(),
                    ok_response(&read(&arrhythmia)),
                ),
                // ADBench's Thyroid is the shared folder's thyroid.npz, byte for byte.
                (
                    "/adbench/38_thyroid.npz".to_string(),
                    ok_response(&read(&npz)),
                ),
            ],
            Duration::from_secs(30),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = fetch_from("odds", dir.path(), &server.url("/odds/")).expect("odds");
        assert_eq!(
            paths,
            vec![
                dir.path().join("odds/thyroid.mat"),
                dir.path().join("odds/arrhythmia.mat")
            ]
        );
        // The configs' relative paths now resolve in the folder the files went to.
        assert_eq!(
            resolve_in("odds/thyroid.mat", None, Some(dir.path()), dir.path()).expect("found"),
            dir.path().join("odds/thyroid.mat")
        );
        let paths =
            fetch_from("adbench:thyroid", dir.path(), &server.url("/adbench/")).expect("adbench");
        assert_eq!(paths, vec![dir.path().join("adbench/38_thyroid.npz")]);
        assert_eq!(read(&paths[0]), read(&npz));
        assert_eq!(server.requests().len(), 3);
    }

    #[test]
    fn the_registry_names_each_set_once_with_real_checksums_and_missing_files_say_how_to_fetch() {
        let mut names: Vec<&str> = KNOWN_DATASETS.iter().map(|d| d.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "a name twice");
        assert!(n >= 40, "{n}");
        for d in KNOWN_DATASETS {
            assert!(d.base_url.ends_with('/'), "{}", d.name);
            for f in d.files {
                assert_eq!(f.sha256.len(), 64, "{}", f.name);
                assert!(f
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            }
        }
        assert_eq!(
            known_dataset("adbench:cardio").expect("cardio").files[0].name,
            "6_cardio.npz"
        );
        let empty = tempfile::tempdir().expect("tempdir");
        let err = resolve_in("odds/arrhythmia.mat", None, None, empty.path())
            .expect_err("absent")
            .to_string();
        assert!(err.contains("`dagmm data fetch odds`"), "{err}");
        let err = resolve_in("mine/x.csv", None, None, empty.path())
            .expect_err("absent")
            .to_string();
        assert!(err.contains("dagmm data list"), "{err}");
    }

    #[test]
    fn resolve_order_without_environment() {
        let data = tempfile::tempdir().expect("tempdir");
        let cache = tempfile::tempdir().expect("tempdir");
        let rel = "kddcup99/kddcup.names";
        std::fs::create_dir_all(cache.path().join("kddcup99")).expect("mkdir");
        std::fs::write(cache.path().join(rel), b"cache").expect("write");

        // Only the cache has it.
        assert_eq!(
            resolve_in(rel, None, Some(data.path()), cache.path()).expect("cache"),
            cache.path().join(rel)
        );
        // The data directory comes first.
        std::fs::create_dir_all(data.path().join("kddcup99")).expect("mkdir");
        std::fs::write(data.path().join(rel), b"data").expect("write");
        assert_eq!(
            resolve_in(rel, None, Some(data.path()), cache.path()).expect("data"),
            data.path().join(rel)
        );
        // An explicit path wins over both; a missing explicit path is an error, with no fallback.
        let explicit = cache.path().join("explicit.names");
        std::fs::write(&explicit, b"x").expect("write");
        assert_eq!(
            resolve_in(rel, Some(&explicit), Some(data.path()), cache.path()).expect("explicit"),
            explicit
        );
        let missing = cache.path().join("missing.names");
        match resolve_in(rel, Some(&missing), Some(data.path()), cache.path()) {
            Err(DataError::NotFound { name, searched }) => {
                assert_eq!(name, missing.display().to_string());
                assert!(searched.contains(&missing.display().to_string()));
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        // Nowhere: every place is listed, with the fetch command.
        let rel = "kddcup99/kddcup.data_10_percent.gz";
        match resolve_in(rel, None, Some(data.path()), cache.path()) {
            Err(DataError::NotFound { name, searched }) => {
                assert_eq!(name, rel);
                assert!(searched.contains(&data.path().join(rel).display().to_string()));
                assert!(searched.contains(&cache.path().join(rel).display().to_string()));
                assert!(searched.contains("dagmm data fetch kddcup99"), "{searched}");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        match resolve_in("odds/thyroid.mat", None, None, cache.path()) {
            Err(DataError::NotFound { searched, .. }) => {
                assert!(searched.contains("DAGMM_DATA_DIR"), "{searched}");
                assert!(
                    searched.contains(&cache.path().join("odds/thyroid.mat").display().to_string())
                );
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    /// Restores an environment variable when dropped.
    struct EnvGuard(&'static str, Option<std::ffi::OsString>);

    impl EnvGuard {
        fn set(name: &'static str, value: Option<&Path>) -> EnvGuard {
            let old = std::env::var_os(name);
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
            EnvGuard(name, old)
        }
    }

    impl Drop for EnvGuard {
        fn drop(&mut self) {
            match &self.1 {
                Some(v) => std::env::set_var(self.0, v),
                None => std::env::remove_var(self.0),
            }
        }
    }

    /// Every assertion that reads or sets environment variables is in this one test, as the
    /// environment is shared by the tests running in parallel. Each variable is restored after.
    #[test]
    fn environment_cache_dir_and_resolve() {
        let home = tempfile::tempdir().expect("tempdir");
        let xdg = tempfile::tempdir().expect("tempdir");
        let cache = tempfile::tempdir().expect("tempdir");
        let data = tempfile::tempdir().expect("tempdir");
        {
            let _h = EnvGuard::set("HOME", Some(home.path()));
            let _x = EnvGuard::set("XDG_CACHE_HOME", None);
            let _c = EnvGuard::set("DAGMM_CACHE_DIR", None);
            assert_eq!(default_cache_dir(), home.path().join(".cache/dagmm"));
            let _x = EnvGuard::set("XDG_CACHE_HOME", Some(xdg.path()));
            assert_eq!(default_cache_dir(), xdg.path().join("dagmm"));
            let _c = EnvGuard::set("DAGMM_CACHE_DIR", Some(cache.path()));
            assert_eq!(default_cache_dir(), cache.path());

            let rel = "kddcup99/kddcup.names";
            std::fs::create_dir_all(cache.path().join("kddcup99")).expect("mkdir");
            std::fs::write(cache.path().join(rel), b"cache").expect("write");
            {
                let _d = EnvGuard::set("DAGMM_DATA_DIR", None);
                assert_eq!(resolve(rel, None).expect("cache"), cache.path().join(rel));
            }
            {
                let _d = EnvGuard::set("DAGMM_DATA_DIR", Some(data.path()));
                // Not in the data directory: the cache is next.
                assert_eq!(resolve(rel, None).expect("cache"), cache.path().join(rel));
                std::fs::create_dir_all(data.path().join("kddcup99")).expect("mkdir");
                std::fs::write(data.path().join(rel), b"data").expect("write");
                assert_eq!(resolve(rel, None).expect("data"), data.path().join(rel));
                let explicit = home.path().join("k.names");
                std::fs::write(&explicit, b"x").expect("write");
                assert_eq!(resolve(rel, Some(&explicit)).expect("explicit"), explicit);
                match resolve("kddcup99/absent.gz", None) {
                    Err(DataError::NotFound { searched, .. }) => {
                        assert!(searched.contains(&data.path().display().to_string()));
                        assert!(searched.contains(&cache.path().display().to_string()));
                        assert!(searched.contains("dagmm data fetch kddcup99"));
                    }
                    other => panic!("expected NotFound, got {other:?}"),
                }
            }
        }
    }
}
