//! XDP steering: loads `steer.bpf.o` (compiled from `steer.bpf.c`, committed beside it and
//! embedded in the binary), fills its steering maps, and attaches it to an interface.
//!
//! The program redirects TCP for our service addresses and ports, and the replies to our
//! origin-side ports, to the AF_XDP socket of the receiving queue ([`Steering::xsk_map`]); it
//! drops TCP for a service address that it cannot steer (fragments, IPv6 header chains it does
//! not walk), so the kernel never answers for our connections; all else passes to the kernel.
//! It is attached through a BPF link, which the kernel drops when the process exits (also on a
//! crash) and aya detaches when [`Steering`] is dropped. Nothing is pinned. A NetReaktor program still on the interface from an earlier run is removed before
//! attaching ([`stale`]).
//!
//! `unsafe` is allowed here and in [`sys`] only; every block carries a `// SAFETY:` comment.

pub(crate) mod maps;
mod stale;
#[allow(unsafe_code)]
pub(crate) mod sys;

#[cfg(test)]
mod tests;

use std::fmt;
use std::os::fd::AsRawFd;

use anyhow::{Context, anyhow};
use aya::maps::{HashMap, MapData, PerCpuArray, XskMap};
use aya::programs::{Xdp, XdpMode};
use aya::{Ebpf, include_bytes_aligned};

pub(crate) use maps::{Counter, Counters, SteerConfig};
pub(crate) use stale::PROGRAM_NAME;

/// The compiled steering program (`tests/scripts/build-xdp.sh` rebuilds it).
static OBJECT: &[u8] = include_bytes_aligned!("steer.bpf.o");

/// How to attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttachMode {
    /// Native (driver) mode, falling back to generic mode if the driver refuses it.
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (SKB) mode only.
    Generic,
}

/// The mode the program runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ActiveMode {
    /// In the driver, before an skb exists.
    Native,
    /// In the kernel stack, on the skb (slower; works on any interface).
    Generic,
}

impl fmt::Display for ActiveMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActiveMode::Native => "native",
            ActiveMode::Generic => "generic",
        })
    }
}

/// Where and how the program is attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attachment {
    /// The interface name.
    pub(crate) interface: String,
    /// The mode in use.
    pub(crate) mode: ActiveMode,
    /// Why native mode was not used, when [`AttachMode::Auto`] fell back to generic.
    pub(crate) native_error: Option<String>,
    /// Ids of stale NetReaktor programs removed from the interface before attaching.
    pub(crate) removed_stale: Vec<u32>,
}

/// The loaded steering program, its maps, and its attachment (at most one interface).
/// Dropping it detaches the program and unloads it.
pub(crate) struct Steering {
    ebpf: Ebpf,
    xsks: XskMap<MapData>,
    counters: PerCpuArray<MapData, u64>,
    attachment: Option<(Attachment, aya::programs::xdp::XdpLinkId)>,
}

impl fmt::Debug for Steering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Steering").field("attachment", &self.attachment()).finish_non_exhaustive()
    }
}

impl Steering {
    /// Loads the program into the kernel and writes `config` into its maps. Not attached yet.
    pub(crate) fn load(config: &SteerConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let mut ebpf = Ebpf::load(OBJECT).context("xdp: loading steer.bpf.o")?;
        // Load before taking maps out: the instructions refer to the maps' fds until then.
        program(&mut ebpf)?.load().context("xdp: verifier rejected nr_steer")?;
        fill_services(&mut ebpf, config)?;
        fill_origins(&mut ebpf, config)?;
        fill_guarded(&mut ebpf, config)?;
        let xsks = XskMap::try_from(take_map(&mut ebpf, "xsks")?).context("xdp: map xsks")?;
        let counters =
            PerCpuArray::try_from(take_map(&mut ebpf, "counters")?).context("xdp: map counters")?;
        Ok(Steering { ebpf, xsks, counters, attachment: None })
    }

    /// Attaches to `interface` (in this thread's network namespace), first removing a stale
    /// NetReaktor program from it. Returns the mode in use; [`Self::attachment`] says more.
    pub(crate) fn attach(
        &mut self,
        interface: &str,
        mode: AttachMode,
    ) -> anyhow::Result<ActiveMode> {
        anyhow::ensure!(self.attachment.is_none(), "xdp: already attached");
        let removed_stale = stale::remove_stale(interface)?;
        let program = program(&mut self.ebpf)?;
        let (link, active, native_error) = match mode {
            AttachMode::Native => {
                (attach_in(program, interface, XdpMode::Driver)?, ActiveMode::Native, None)
            }
            AttachMode::Generic => {
                (attach_in(program, interface, XdpMode::Skb)?, ActiveMode::Generic, None)
            }
            AttachMode::Auto => match attach_in(program, interface, XdpMode::Driver) {
                Ok(link) => (link, ActiveMode::Native, None),
                Err(native) => {
                    let link = attach_in(program, interface, XdpMode::Skb).with_context(|| {
                        format!("xdp: native mode had failed first: {native:#}")
                    })?;
                    (link, ActiveMode::Generic, Some(format!("{native:#}")))
                }
            },
        };
        let attachment = Attachment {
            interface: interface.to_owned(),
            mode: active,
            native_error,
            removed_stale,
        };
        self.attachment = Some((attachment, link));
        Ok(active)
    }

    /// The current attachment, if any.
    pub(crate) fn attachment(&self) -> Option<&Attachment> {
        self.attachment.as_ref().map(|(attachment, _)| attachment)
    }

    /// Detaches from the interface (dropping does this too, without reporting errors).
    pub(crate) fn detach(&mut self) -> anyhow::Result<()> {
        let Some((attachment, link)) = self.attachment.take() else {
            return Ok(());
        };
        program(&mut self.ebpf)?
            .detach(link)
            .with_context(|| format!("xdp: detaching from {}", attachment.interface))
    }

    /// The XSKMAP: bind the AF_XDP socket of rx queue `q` with `xsk_map().set(q, fd, 0)`.
    pub(crate) fn xsk_map(&mut self) -> &mut XskMap<MapData> {
        &mut self.xsks
    }

    /// Steers rx queue `queue` to the AF_XDP socket `socket`.
    pub(crate) fn bind_queue(&mut self, queue: u32, socket: &impl AsRawFd) -> anyhow::Result<()> {
        self.xsks
            .set(queue, socket.as_raw_fd(), 0)
            .with_context(|| format!("xdp: binding queue {queue}"))
    }

    /// The counters, summed over CPUs.
    pub(crate) fn counters(&self) -> anyhow::Result<Counters> {
        let mut totals = [0u64; Counter::ALL.len()];
        for (total, counter) in totals.iter_mut().zip(Counter::ALL) {
            let per_cpu =
                self.counters.get(&counter.index(), 0).context("xdp: reading counters")?;
            *total = per_cpu.iter().fold(0u64, |sum, v| sum.wrapping_add(*v));
        }
        Ok(Counters::from_totals(totals))
    }

    /// The program, for `BPF_PROG_TEST_RUN` in tests.
    #[cfg(test)]
    fn program(&mut self) -> anyhow::Result<&mut Xdp> {
        program(&mut self.ebpf)
    }
}

fn program(ebpf: &mut Ebpf) -> anyhow::Result<&mut Xdp> {
    let program = ebpf
        .program_mut(PROGRAM_NAME)
        .ok_or_else(|| anyhow!("xdp: steer.bpf.o has no program {PROGRAM_NAME}"))?;
    program.try_into().context("xdp: nr_steer is not an XDP program")
}

fn take_map(ebpf: &mut Ebpf, name: &str) -> anyhow::Result<aya::maps::Map> {
    ebpf.take_map(name).ok_or_else(|| anyhow!("xdp: steer.bpf.o has no map {name}"))
}

fn attach_in(
    program: &mut Xdp,
    interface: &str,
    mode: XdpMode,
) -> anyhow::Result<aya::programs::xdp::XdpLinkId> {
    program
        .attach(interface, mode)
        .with_context(|| format!("xdp: attaching to {interface} in {mode:?} mode"))
}

fn fill_services(ebpf: &mut Ebpf, config: &SteerConfig) -> anyhow::Result<()> {
    let mut map: HashMap<_, maps::Key, u8> =
        HashMap::try_from(take_map(ebpf, "services")?).context("xdp: map services")?;
    for key in config.service_keys() {
        map.insert(key, 1, 0).context("xdp: writing services")?;
    }
    Ok(())
}

fn fill_origins(ebpf: &mut Ebpf, config: &SteerConfig) -> anyhow::Result<()> {
    let mut map: HashMap<_, maps::Key, [u16; 2]> =
        HashMap::try_from(take_map(ebpf, "origins")?).context("xdp: map origins")?;
    for (key, range) in config.origin_entries() {
        map.insert(key, range, 0).context("xdp: writing origins")?;
    }
    Ok(())
}

fn fill_guarded(ebpf: &mut Ebpf, config: &SteerConfig) -> anyhow::Result<()> {
    let mut map: HashMap<_, maps::Key, u8> =
        HashMap::try_from(take_map(ebpf, "guarded")?).context("xdp: map guarded")?;
    for key in config.guarded_keys() {
        map.insert(key, 1, 0).context("xdp: writing guarded")?;
    }
    Ok(())
}
