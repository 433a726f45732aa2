//! Where the tensors live, chosen at run time: Burn's CPU backends (`flex`, `ndarray`) and, with
//! the `wgpu` cargo feature (on by default), a GPU or software adapter through wgpu (WGSL shaders).
//!
//! A wgpu device is started explicitly the first time it is asked for, and a device that cannot
//! start is an error saying why ([`ModelError::Device`]) — never a silent fall-back to the CPU.
//! Names: `flex`, `ndarray`, `wgpu` (the first discrete GPU, else integrated, else virtual; never
//! a software adapter),
//! `wgpu:discrete:N`, `wgpu:integrated:N`, `wgpu:virtual:N` (the N-th adapter of that type) and
//! `wgpu:cpu` (a software adapter such as Mesa's lavapipe, which `wgpu` never picks).

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::{ModelError, Result};

/// Which wgpu adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WgpuAdapter {
    /// wgpu's default choice (`CUBECL_WGPU_DEFAULT_DEVICE` overrides it).
    Default,
    /// The N-th discrete GPU.
    Discrete(usize),
    /// The N-th integrated GPU.
    Integrated(usize),
    /// The N-th virtual GPU.
    Virtual(usize),
    /// A CPU (software) adapter.
    Cpu,
}

/// Where the tensors live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// Burn's pure-Rust CPU backend (`Device::flex()`).
    #[default]
    Flex,
    /// Burn's NdArray CPU backend (`Device::ndarray()`, deprecated in Burn 0.22 but kept).
    Ndarray,
    /// A wgpu adapter.
    Wgpu(WgpuAdapter),
}

impl DeviceChoice {
    /// Whether this build can drive wgpu devices.
    pub const WGPU_BUILT: bool = cfg!(feature = "wgpu");
    /// Whether this build has Burn's NdArray backend (the `ndarray` feature).
    pub const NDARRAY_BUILT: bool = cfg!(feature = "ndarray");

    /// The Burn device (without autodiff), started if it is a wgpu device not yet started.
    ///
    /// # Errors
    /// [`ModelError::Device`] when the device cannot start (no such adapter, no driver, a build
    /// without the `wgpu` feature), with the reason.
    pub fn try_device(self) -> Result<Device> {
        match self {
            DeviceChoice::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceChoice::Ndarray => Ok(Device::ndarray()),
            #[cfg(not(feature = "ndarray"))]
            DeviceChoice::Ndarray => Err(ModelError::Device {
                device: "ndarray".into(),
                reason: "this build has no ndarray backend (build with the `ndarray` feature; \
                         `flex` is the default CPU backend)"
                    .into(),
            }),
            DeviceChoice::Wgpu(adapter) => wgpu_device(adapter),
        }
    }

    /// [`try_device`](Self::try_device) for a choice already started (every model checks its
    /// device when it is built, so this cannot fail after that).
    pub fn device(self) -> Device {
        self.try_device()
            .unwrap_or_else(|e| panic!("device {self} was checked when the model was built: {e}"))
    }

    /// The wgpu adapter this choice runs on (`None` for the CPU backends; an error where it
    /// names no adapter of this machine).
    pub fn adapter(self) -> Result<Option<AdapterRecord>> {
        match self {
            DeviceChoice::Flex | DeviceChoice::Ndarray => Ok(None),
            DeviceChoice::Wgpu(adapter) => adapter_record(adapter).map(Some),
        }
    }

    /// The name used in configs and on the command line.
    pub fn name(self) -> String {
        match self {
            DeviceChoice::Flex => "flex".into(),
            DeviceChoice::Ndarray => "ndarray".into(),
            DeviceChoice::Wgpu(WgpuAdapter::Default) => "wgpu".into(),
            DeviceChoice::Wgpu(WgpuAdapter::Cpu) => "wgpu:cpu".into(),
            DeviceChoice::Wgpu(WgpuAdapter::Discrete(n)) => format!("wgpu:discrete:{n}"),
            DeviceChoice::Wgpu(WgpuAdapter::Integrated(n)) => format!("wgpu:integrated:{n}"),
            DeviceChoice::Wgpu(WgpuAdapter::Virtual(n)) => format!("wgpu:virtual:{n}"),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> String {
        d.name()
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = ModelError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl FromStr for DeviceChoice {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        let index = |p: &str| p.parse::<usize>().ok();
        let choice = match parts.as_slice() {
            ["flex"] => Some(DeviceChoice::Flex),
            ["ndarray"] => Some(DeviceChoice::Ndarray),
            ["wgpu"] => Some(DeviceChoice::Wgpu(WgpuAdapter::Default)),
            ["wgpu", "cpu"] => Some(DeviceChoice::Wgpu(WgpuAdapter::Cpu)),
            ["wgpu", kind, n] => index(n).and_then(|n| match *kind {
                "discrete" => Some(DeviceChoice::Wgpu(WgpuAdapter::Discrete(n))),
                "integrated" => Some(DeviceChoice::Wgpu(WgpuAdapter::Integrated(n))),
                "virtual" => Some(DeviceChoice::Wgpu(WgpuAdapter::Virtual(n))),
                _ => None,
            }),
            _ => None,
        };
        choice.ok_or_else(|| ModelError::InvalidConfig {
            field: "device",
            message: format!(
                "unknown device `{s}`; devices are flex, ndarray, wgpu, wgpu:cpu, \
                 wgpu:discrete:N, wgpu:integrated:N, wgpu:virtual:N (`dagmm devices` lists this machine's)"
            ),
        })
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device(adapter: WgpuAdapter) -> Result<Device> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use burn::tensor::DeviceKind;

    static STARTED: OnceLock<Mutex<HashMap<WgpuAdapter, std::result::Result<Device, String>>>> =
        OnceLock::new();
    let started = STARTED.get_or_init(Default::default);
    let mut started = started.lock().unwrap_or_else(|p| p.into_inner());
    let outcome = started.entry(adapter).or_insert_with(|| {
        // `wgpu` is the first hardware adapter; an index names an adapter this machine has.
        let resolved = resolve_adapter(adapter)?.0;
        let kind = match resolved {
            WgpuAdapter::Default => DeviceKind::DefaultDevice,
            WgpuAdapter::Discrete(n) => DeviceKind::DiscreteGpu(n),
            WgpuAdapter::Integrated(n) => DeviceKind::IntegratedGpu(n),
            WgpuAdapter::Virtual(n) => DeviceKind::VirtualGpu(n),
            WgpuAdapter::Cpu => DeviceKind::Cpu,
        };
        Device::wgpu_options()
            .device_kind(kind)
            .init()
            .map_err(|e| e.to_string())
    });
    outcome
        .clone()
        .map_err(|reason| adapter_error(adapter, first_line(&reason)))
}

/// The first line of a backend's message, without the `AdapterInfo { … }` dumps some carry.
#[cfg(feature = "wgpu")]
fn first_line(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or(reason);
    match line.find("AdapterInfo") {
        Some(i) => line[..i]
            .trim_end_matches([' ', ':', '(', '[', ','])
            .to_string(),
        None => line.to_string(),
    }
}

/// [`find_adapter`], once per process and adapter name: enumerating creates a wgpu instance,
/// which is slow and which the Vulkan loader does not like done on several threads at once.
#[cfg(feature = "wgpu")]
fn resolve_adapter(
    adapter: WgpuAdapter,
) -> std::result::Result<(WgpuAdapter, AdapterRecord), String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Found = std::result::Result<(WgpuAdapter, AdapterRecord), String>;
    static FOUND: OnceLock<Mutex<HashMap<WgpuAdapter, Found>>> = OnceLock::new();
    let found = FOUND.get_or_init(Default::default);
    let mut found = found.lock().unwrap_or_else(|p| p.into_inner());
    found
        .entry(adapter)
        .or_insert_with(|| find_adapter(adapter))
        .clone()
}

/// The adapter `adapter` stands for on this machine and what it is: `wgpu` becomes the first
/// discrete GPU, else the first integrated, else the first virtual one (never a software
/// adapter: `wgpu:cpu` names that); an indexed name must exist. The error lists what there is.
#[cfg(feature = "wgpu")]
fn find_adapter(adapter: WgpuAdapter) -> std::result::Result<(WgpuAdapter, AdapterRecord), String> {
    let found: Vec<(WgpuAdapter, AdapterRecord)> = enumerate_adapters()
        .into_iter()
        .filter_map(|(choice, record)| choice.map(|c| (c, record)))
        .collect();
    let listing = || {
        if found.is_empty() {
            "wgpu finds no adapter at all (no Vulkan, Metal, DirectX or GL driver)".to_string()
        } else {
            let names: Vec<String> = found
                .iter()
                .map(|(a, r)| {
                    format!(
                        "{} ({}, {}, {})",
                        DeviceChoice::Wgpu(*a),
                        r.name,
                        r.device_type,
                        r.backend
                    )
                })
                .collect();
            format!("this machine has {}", names.join("; "))
        }
    };
    let pick = |want: WgpuAdapter| found.iter().find(|(a, _)| *a == want).cloned();
    let chosen = match adapter {
        WgpuAdapter::Default => [
            WgpuAdapter::Discrete(0),
            WgpuAdapter::Integrated(0),
            WgpuAdapter::Virtual(0),
        ]
        .into_iter()
        .find_map(pick)
        .ok_or_else(|| {
            format!(
                "no GPU adapter: `wgpu` takes a discrete, integrated or virtual GPU and \
                     refuses software adapters (use `wgpu:cpu` to run on one); {}",
                listing()
            )
        })?,
        other => pick(other).ok_or_else(|| {
            format!(
                "no such adapter; {} (`dagmm devices` lists them)",
                listing()
            )
        })?,
    };
    Ok(chosen)
}

/// Every adapter wgpu enumerates, in its order, with the name that selects it (per-type indices
/// in enumeration order, as wgpu's own selection counts them; `None` for an adapter of type
/// `other`, and for a software adapter after the first, which `wgpu:cpu` selects).
#[cfg(feature = "wgpu")]
fn enumerate_adapters() -> Vec<(Option<WgpuAdapter>, AdapterRecord)> {
    use burn::tensor::wgpu::wgpu;
    use std::collections::HashMap;

    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapters = block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let mut seen: HashMap<&'static str, usize> = HashMap::new();
    let mut out = Vec::new();
    for adapter in adapters {
        let info = adapter.get_info();
        type Name = Option<fn(usize) -> WgpuAdapter>;
        let (kind, make): (&'static str, Name) = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => ("discrete", Some(WgpuAdapter::Discrete)),
            wgpu::DeviceType::IntegratedGpu => ("integrated", Some(WgpuAdapter::Integrated)),
            wgpu::DeviceType::VirtualGpu => ("virtual", Some(WgpuAdapter::Virtual)),
            wgpu::DeviceType::Cpu => ("cpu", Some(|_| WgpuAdapter::Cpu)),
            wgpu::DeviceType::Other => ("other", None),
        };
        let n = seen.entry(kind).or_default();
        let choice = make.filter(|_| kind != "cpu" || *n == 0).map(|f| f(*n));
        *n += 1;
        let record = AdapterRecord {
            name: info.name.clone(),
            device_type: kind.into(),
            backend: format!("{:?}", info.backend),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        };
        out.push((choice, record));
    }
    out
}

/// `adapter` cannot be used, for `reason`.
fn adapter_error(adapter: WgpuAdapter, reason: String) -> ModelError {
    ModelError::Device {
        device: DeviceChoice::Wgpu(adapter).name(),
        reason,
    }
}

#[cfg(feature = "wgpu")]
fn adapter_record(adapter: WgpuAdapter) -> Result<AdapterRecord> {
    resolve_adapter(adapter)
        .map(|(_, r)| r)
        .map_err(|reason| adapter_error(adapter, reason))
}

#[cfg(not(feature = "wgpu"))]
fn adapter_record(adapter: WgpuAdapter) -> Result<AdapterRecord> {
    Err(no_wgpu(adapter))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(adapter: WgpuAdapter) -> Result<Device> {
    Err(no_wgpu(adapter))
}

#[cfg(not(feature = "wgpu"))]
fn no_wgpu(adapter: WgpuAdapter) -> ModelError {
    adapter_error(
        adapter,
        "this build has no wgpu support (build with the `wgpu` feature)".into(),
    )
}

/// The wgpu adapter a run used, as a manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterRecord {
    /// The adapter's name (e.g. `NVIDIA H200`, `llvmpipe (LLVM 15.0.6, 256 bits)`).
    pub name: String,
    /// `discrete`, `integrated`, `virtual`, `cpu` (software).
    pub device_type: String,
    /// The graphics API (`Vulkan`, `Metal`, `Dx12`, `Gl`).
    pub backend: String,
    /// The driver and its version, as the adapter reports them.
    pub driver: String,
}

/// One device this machine offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceInfo {
    /// The name to pass as `device` / `--device`.
    pub name: String,
    /// What it is (adapter name, driver, graphics API).
    pub description: String,
}

/// The devices of this machine: the CPU backends, then every wgpu adapter (with the name that
/// selects it). Adapters are found by wgpu's enumeration over every graphics API it was built
/// with; an adapter listed here may still fail to start (a broken driver), which training
/// reports as an error.
pub fn available_devices() -> Vec<DeviceInfo> {
    let mut out = vec![DeviceInfo {
        name: "flex".into(),
        description: "CPU, Burn's pure-Rust backend (the default)".into(),
    }];
    if DeviceChoice::NDARRAY_BUILT {
        out.push(DeviceInfo {
            name: "ndarray".into(),
            description: "CPU, Burn's NdArray backend".into(),
        });
    }
    out.extend(wgpu_adapters());
    out
}

#[cfg(feature = "wgpu")]
fn wgpu_adapters() -> Vec<DeviceInfo> {
    enumerate_adapters()
        .into_iter()
        .map(|(choice, r)| DeviceInfo {
            name: choice.map_or_else(
                || "(not selectable)".to_string(),
                |c| DeviceChoice::Wgpu(c).name(),
            ),
            description: format!("{} ({}, {})", r.name, r.backend, r.driver),
        })
        .collect()
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_adapters() -> Vec<DeviceInfo> {
    Vec::new()
}

/// Runs a future that completes without waiting on anything outside (wgpu's native adapter
/// enumeration) to completion on this thread.
#[cfg(feature = "wgpu")]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        for name in [
            "flex",
            "ndarray",
            "wgpu",
            "wgpu:cpu",
            "wgpu:discrete:0",
            "wgpu:integrated:2",
            "wgpu:virtual:1",
        ] {
            let d: DeviceChoice = name.parse().unwrap();
            assert_eq!(d.name(), name);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<DeviceChoice>(&json).unwrap(), d);
        }
        assert_eq!(
            "WGPU:CPU".parse::<DeviceChoice>().unwrap().name(),
            "wgpu:cpu"
        );
        for bad in [
            "cuda",
            "wgpu:gpu",
            "wgpu:discrete",
            "wgpu:discrete:x",
            "flex:0",
            "",
        ] {
            let err = bad.parse::<DeviceChoice>().unwrap_err().to_string();
            assert!(
                err.contains("unknown device") && err.contains("dagmm devices"),
                "{err}"
            );
        }
        assert!(serde_json::from_str::<DeviceChoice>("\"cuda\"").is_err());
    }

    #[test]
    fn cpu_devices_are_listed_first() {
        let all = available_devices();
        assert_eq!(all[0].name, "flex");
        if DeviceChoice::NDARRAY_BUILT {
            assert_eq!(all[1].name, "ndarray");
        } else {
            let err = DeviceChoice::Ndarray.try_device().unwrap_err().to_string();
            assert!(err.contains("`ndarray` feature"), "{err}");
        }
    }
}
