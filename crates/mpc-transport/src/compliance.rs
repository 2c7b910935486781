//! A compliance suite every [`Transport`] implementation's tests run.
//!
//! Implement [`Harness`] for your transport (it starts a set of parties that
//! know each other), then call [`run_all`] from a test, or each case on its
//! own:
//!
//! ```
//! use mpc_transport::compliance::{self, Harness};
//! use mpc_transport::{MemoryNetwork, MemoryTransport, SharedInbox};
//!
//! struct MemoryHarness;
//!
//! impl Harness for MemoryHarness {
//!     type Transport = MemoryTransport;
//!
//!     async fn start(&self, names: &[&str], inboxes: Vec<SharedInbox>) -> Vec<MemoryTransport> {
//!         let network = MemoryNetwork::new(); // fresh parties for every case
//!         names
//!             .iter()
//!             .zip(inboxes)
//!             .map(|(name, inbox)| {
//!                 let peers = names.iter().filter(|peer| *peer != name).copied();
//!                 network.bind(name, peers, inbox).expect("fresh network")
//!             })
//!             .collect()
//!     }
//! }
//!
//! // In a test: `#[tokio::test] async fn compliance() { compliance::run_all(&MemoryHarness).await }`
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
//! #     .block_on(compliance::delivery(&MemoryHarness));
//! ```
//!
//! The cases are test code: they panic, with a message naming the case and
//! what went wrong, when the transport does not comply. Every wait is guarded
//! by [`HANG_GUARD`], so a hanging transport fails instead of blocking the
//! test run. Run the suite on real time, not on tokio's paused clock: with
//! paused time and real I/O the clock jumps ahead while the runtime waits
//! for sockets and the guards fire at once.
//!
//! What the suite expects of a harness:
//!
//! * every [`Harness::start`] gives a fresh, isolated set of parties (the
//!   cases reuse names such as `"alice"` and `"bob"`);
//! * the receivers accept packets of at least 32 MiB ([`large_packets`]);
//! * a transport that retries an unreachable peer gives up well within
//!   [`HANG_GUARD`] ([`peer_gone`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::{Delivery, Inbox, Rejection, SharedInbox, Transport, TransportError};

/// The longest any single step of a case may take before the case fails as hung.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// Starts parties of the transport under test.
pub trait Harness: Send + Sync {
    /// The transport under test.
    type Transport: Transport;

    /// Starts one party per name: party `i` is named `names[i]`, knows all
    /// the other names as peers and delivers what it receives into
    /// `inboxes[i]`. Returns the parties' transports in the order of `names`.
    ///
    /// Called once per case; each call must give a fresh set of parties,
    /// independent of those of earlier calls. May panic if the parties
    /// cannot be started (it runs in tests).
    fn start(
        &self,
        names: &[&str],
        inboxes: Vec<SharedInbox>,
    ) -> impl Future<Output = Vec<Self::Transport>> + Send;
}

/// An [`Inbox`] for tests: records every delivered packet in order.
///
/// It de-duplicates nothing (a packet delivered twice is recorded twice, which
/// is how the suite detects it), holds at most its capacity of packets
/// (rejecting more with [`Rejection::BufferFull`]) and can be told to reject
/// everything with a given [`Rejection`].
#[derive(Debug)]
pub struct RecordingInbox {
    state: Mutex<RecordingState>,
    /// The number of packets recorded so far, for waiters.
    count: watch::Sender<usize>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct RecordingState {
    packets: Vec<(String, Bytes)>,
    reject: Option<Rejection>,
    rejected: usize,
}

/// [`RecordingInbox::wait_for`] gave up before enough packets arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waited {timeout:?} for {wanted} packets, {got} arrived")]
pub struct WaitTimedOut {
    /// The number of packets waited for.
    pub wanted: usize,
    /// The number recorded when the wait gave up.
    pub got: usize,
    /// How long the wait took.
    pub timeout: Duration,
}

impl RecordingInbox {
    /// The capacity of [`RecordingInbox::new`] and of the default inbox.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty inbox holding up to [`RecordingInbox::DEFAULT_CAPACITY`] packets.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty inbox holding up to `capacity` packets.
    pub fn with_capacity(capacity: usize) -> Self {
        RecordingInbox {
            state: Mutex::new(RecordingState::default()),
            count: watch::Sender::new(0),
            capacity,
        }
    }

    /// This inbox as a [`SharedInbox`], for a transport to deliver into.
    pub fn shared(self: &Arc<Self>) -> SharedInbox {
        Arc::clone(self) as SharedInbox
    }

    /// From now on, rejects every packet with `rejection` (or, with `None`,
    /// records them again).
    pub fn reject_with(&self, rejection: Option<Rejection>) {
        self.lock().reject = rejection;
    }

    /// Every packet recorded so far, with its sender, in arrival order.
    pub fn received(&self) -> Vec<(String, Bytes)> {
        self.lock().packets.clone()
    }

    /// The packets recorded so far from the peer `from`, in arrival order.
    pub fn received_from(&self, from: &str) -> Vec<Bytes> {
        self.lock()
            .packets
            .iter()
            .filter(|(sender, _)| sender == from)
            .map(|(_, packet)| packet.clone())
            .collect()
    }

    /// The number of packets recorded so far.
    pub fn len(&self) -> usize {
        self.lock().packets.len()
    }

    /// Whether no packet has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of packets refused so far (told to reject, or full).
    pub fn rejected(&self) -> usize {
        self.lock().rejected
    }

    /// Waits until at least `n` packets have been recorded, for at most `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Result<(), WaitTimedOut> {
        let mut count = self.count.subscribe();
        let reached = tokio::time::timeout(timeout, async move {
            // The sender lives in `self`, so the wait cannot fail for want of one.
            count.wait_for(|&recorded| recorded >= n).await.is_ok()
        })
        .await;
        match reached {
            Ok(true) => Ok(()),
            _ => Err(WaitTimedOut {
                wanted: n,
                got: self.len(),
                timeout,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RecordingState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for RecordingInbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Inbox for RecordingInbox {
    fn deliver(&self, from: &str, packet: Bytes) -> Result<Delivery, Rejection> {
        let mut state = self.lock();
        if let Some(rejection) = &state.reject {
            let rejection = rejection.clone();
            state.rejected += 1;
            return Err(rejection);
        }
        if state.packets.len() >= self.capacity {
            state.rejected += 1;
            return Err(Rejection::BufferFull {
                reason: format!(
                    "the recording inbox holds at most {} packets",
                    self.capacity
                ),
            });
        }
        state.packets.push((from.to_owned(), packet));
        let recorded = state.packets.len();
        drop(state);
        self.count.send_replace(recorded);
        Ok(Delivery::Accepted)
    }
}

/// Runs every case of the suite, one after another, each on fresh parties.
///
/// Panics with a message naming the case on the first failure.
pub async fn run_all<H: Harness>(h: &H) {
    macro_rules! run {
        ($($case:ident),*) => {$(
            tracing::info!(concat!("compliance: ", stringify!($case)));
            $case(h).await;
        )*};
    }
    run!(
        delivery,
        concurrent_senders,
        unknown_peer,
        rejection,
        peer_gone,
        large_packets,
        shutdown_while_sending,
        packet_in_parts,
        empty_packet
    );
}

/// Started parties: their transports and inboxes, in the order of the names.
struct Parties<T> {
    transports: Vec<Arc<T>>,
    inboxes: Vec<Arc<RecordingInbox>>,
}

impl<T: Transport> Parties<T> {
    async fn start<H: Harness<Transport = T>>(case: &str, h: &H, names: &[&str]) -> Self {
        let inboxes: Vec<Arc<RecordingInbox>> = names
            .iter()
            .map(|_| Arc::new(RecordingInbox::new()))
            .collect();
        let shared = inboxes.iter().map(RecordingInbox::shared).collect();
        let transports = guard(case, "Harness::start", h.start(names, shared)).await;
        assert_eq!(
            transports.len(),
            names.len(),
            "compliance case {case}: Harness::start returned {} transports for {} names",
            transports.len(),
            names.len()
        );
        Parties {
            transports: transports.into_iter().map(Arc::new).collect(),
            inboxes,
        }
    }

    /// Fails the case unless the second party recorded exactly `packet`,
    /// once, from the first.
    fn expect_only(&self, case: &str, names: [&str; 2], packet: Bytes, what: &str) {
        assert_eq!(
            self.inboxes[1].received(),
            vec![(names[0].to_owned(), packet)],
            "compliance case {case}: {what}"
        );
    }

    async fn shutdown(&self, case: &str) {
        for transport in &self.transports {
            guard(case, "shutdown", transport.shutdown()).await;
        }
    }
}

/// Awaits `f`, failing the case if it takes longer than [`HANG_GUARD`].
async fn guard<F: Future>(case: &str, what: &str, f: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, f).await {
        Ok(output) => output,
        Err(_) => panic!("compliance case {case}: {what} did not finish within {HANG_GUARD:?}"),
    }
}

/// Awaits a send under [`guard`], failing the case if it fails.
async fn expect_sent<F>(case: &str, what: &str, f: F)
where
    F: Future<Output = Result<(), TransportError>>,
{
    if let Err(err) = guard(case, what, f).await {
        panic!("compliance case {case}: {what} failed: {err}");
    }
}

/// A small packet naming its sender, receiver and index, unique per case.
fn tagged(from: &str, to: &str, index: usize) -> Bytes {
    Bytes::from(format!("{from}->{to}#{index:06}"))
}

/// `len` deterministic pseudo-random bytes (xorshift64*).
fn pseudo_random(seed: u64, len: usize) -> Bytes {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        let take = word.len().min(len - out.len());
        out.extend_from_slice(&word[..take]);
    }
    Bytes::from(out)
}

/// Fails the case unless `got` and `want` are the same bytes, without
/// printing large packets.
fn assert_same_bytes(case: &str, what: &str, got: &[u8], want: &[u8]) {
    if got.len() != want.len() {
        panic!(
            "compliance case {case}: {what}: {} bytes arrived, {} were sent",
            got.len(),
            want.len()
        );
    }
    if let Some(offset) = got.iter().zip(want).position(|(g, w)| g != w) {
        panic!("compliance case {case}: {what}: the bytes differ from offset {offset} on");
    }
}

/// A sends 100 distinct packets to B one after another; B receives exactly
/// those, in order, each once. Then the same from B to A.
///
/// A send resolves once the receiver accepted the packet, so the inbox is
/// checked as soon as the last send resolved, without waiting.
pub async fn delivery<H: Harness>(h: &H) {
    const CASE: &str = "delivery";
    const COUNT: usize = 100;
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    for (from, to) in [(0, 1), (1, 0)] {
        let sent: Vec<Bytes> = (0..COUNT)
            .map(|i| tagged(names[from], names[to], i))
            .collect();
        let what = format!("{} -> {}: send", names[from], names[to]);
        for packet in &sent {
            let send = parties.transports[from].send(names[to], packet.clone());
            expect_sent(CASE, &what, send).await;
        }
        let received = parties.inboxes[to].received();
        let senders: HashSet<&str> = received.iter().map(|(s, _)| s.as_str()).collect();
        assert!(
            senders.iter().all(|s| *s == names[from]),
            "compliance case {CASE}: {} recorded packets from {senders:?}, expected only {:?}",
            names[to],
            names[from]
        );
        let packets: Vec<Bytes> = received.into_iter().map(|(_, p)| p).collect();
        assert_eq!(
            packets, sent,
            "compliance case {CASE}: {} -> {}: the packets that arrived (left) differ from those sent, in order (right)",
            names[from], names[to]
        );
    }
    parties.shutdown(CASE).await;
}

/// Three parties; two send 200 packets each to the third, concurrently, each
/// with several sends in flight at once. Every packet arrives exactly once
/// and each worker's sequential sends arrive in order.
pub async fn concurrent_senders<H: Harness>(h: &H) {
    const CASE: &str = "concurrent_senders";
    const COUNT: usize = 200;
    const WORKERS: usize = 8;
    let names = ["alice", "bob", "carol"];
    let receiver = 1;
    let senders = [0, 2];
    let parties = Parties::start(CASE, h, &names).await;

    let mut tasks = JoinSet::new();
    for &from in &senders {
        for worker in 0..WORKERS {
            let transport = Arc::clone(&parties.transports[from]);
            tasks.spawn(async move {
                for i in (worker..COUNT).step_by(WORKERS) {
                    let packet = tagged(names[from], names[receiver], i);
                    if let Err(err) = transport.send(names[receiver], packet).await {
                        return Err(format!(
                            "{} -> {} packet {i}: {err}",
                            names[from], names[receiver]
                        ));
                    }
                }
                Ok(())
            });
        }
    }
    let outcomes = guard(CASE, "the concurrent sends", tasks.join_all()).await;
    for outcome in outcomes {
        if let Err(err) = outcome {
            panic!("compliance case {CASE}: send failed: {err}");
        }
    }

    let inbox = &parties.inboxes[receiver];
    let received = inbox.received();
    assert_eq!(
        received.len(),
        senders.len() * COUNT,
        "compliance case {CASE}: {} packets arrived, {} were sent",
        received.len(),
        senders.len() * COUNT
    );
    for &from in &senders {
        let got = inbox.received_from(names[from]);
        let mut seen = HashSet::new();
        for packet in &got {
            assert!(
                seen.insert(packet.clone()),
                "compliance case {CASE}: packet {packet:?} arrived twice"
            );
        }
        let want: HashSet<Bytes> = (0..COUNT)
            .map(|i| tagged(names[from], names[receiver], i))
            .collect();
        assert!(
            seen == want,
            "compliance case {CASE}: the packets from {} differ from those sent ({} arrived, {} missing)",
            names[from],
            got.len(),
            want.difference(&seen).count()
        );
        // Each worker awaited every send before the next: its packets arrive in order.
        let position: HashMap<&Bytes, usize> =
            got.iter().enumerate().map(|(at, p)| (p, at)).collect();
        for worker in 0..WORKERS {
            let order: Vec<usize> = (worker..COUNT)
                .step_by(WORKERS)
                .filter_map(|i| {
                    position
                        .get(&tagged(names[from], names[receiver], i))
                        .copied()
                })
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "compliance case {CASE}: sequential sends of one task from {} arrived out of order",
                names[from]
            );
        }
    }
    parties.shutdown(CASE).await;
}

/// Sending to a name that is not a configured peer fails with
/// [`TransportError::UnknownPeer`] naming it, and delivers nothing.
pub async fn unknown_peer<H: Harness>(h: &H) {
    const CASE: &str = "unknown_peer";
    const STRANGER: &str = "mallory-not-configured";
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    let result = guard(
        CASE,
        "send",
        parties.transports[0].send(STRANGER, tagged(names[0], STRANGER, 0)),
    )
    .await;
    match result {
        Err(TransportError::UnknownPeer { peer }) => assert_eq!(
            peer, STRANGER,
            "compliance case {CASE}: UnknownPeer names the wrong peer"
        ),
        other => panic!("compliance case {CASE}: expected UnknownPeer, got {other:?}"),
    }
    for (name, inbox) in names.iter().zip(&parties.inboxes) {
        assert!(
            inbox.is_empty(),
            "compliance case {CASE}: {name} recorded a packet"
        );
    }
    parties.shutdown(CASE).await;
}

/// The receiver's inbox rejects a packet: the sender gets
/// [`TransportError::Rejected`] with that very rejection and nothing is
/// recorded. Once the inbox accepts again, a send succeeds.
pub async fn rejection<H: Harness>(h: &H) {
    const CASE: &str = "rejection";
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    let refusal = Rejection::Conflict {
        id: "compliance-42".to_owned(),
    };
    parties.inboxes[1].reject_with(Some(refusal.clone()));
    let result = guard(
        CASE,
        "send",
        parties.transports[0].send(names[1], tagged(names[0], names[1], 0)),
    )
    .await;
    match result {
        Err(TransportError::Rejected { peer, rejection }) => {
            assert_eq!(
                peer, names[1],
                "compliance case {CASE}: Rejected names the wrong peer"
            );
            assert_eq!(
                rejection, refusal,
                "compliance case {CASE}: the rejection reached the sender altered"
            );
        }
        other => panic!("compliance case {CASE}: expected Rejected, got {other:?}"),
    }
    assert!(
        parties.inboxes[1].is_empty(),
        "compliance case {CASE}: a rejected packet was recorded"
    );

    parties.inboxes[1].reject_with(None);
    let packet = tagged(names[0], names[1], 1);
    let send = parties.transports[0].send(names[1], packet.clone());
    expect_sent(CASE, "send after the inbox accepts again", send).await;
    parties.expect_only(
        CASE,
        names,
        packet,
        "the accepted packet was not recorded once",
    );
    parties.shutdown(CASE).await;
}

/// B shuts down; A's send to B fails within [`HANG_GUARD`].
///
/// Accepted errors: [`TransportError::PeerGone`], [`TransportError::Unreachable`]
/// (a transport that cannot tell a peer that left from one not up yet may
/// retry for its window, which must end well within the guard) and
/// [`TransportError::Rejected`] with [`Rejection::ShuttingDown`]; each must
/// name B. Nothing is recorded.
pub async fn peer_gone<H: Harness>(h: &H) {
    const CASE: &str = "peer_gone";
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    guard(CASE, "shutdown of bob", parties.transports[1].shutdown()).await;
    let result = guard(
        CASE,
        "send to a peer that shut down",
        parties.transports[0].send(names[1], tagged(names[0], names[1], 0)),
    )
    .await;
    let peer = match result {
        Err(TransportError::PeerGone { peer })
        | Err(TransportError::Unreachable { peer, .. })
        | Err(TransportError::Rejected {
            peer,
            rejection: Rejection::ShuttingDown,
        }) => peer,
        other => panic!(
            "compliance case {CASE}: expected PeerGone, Unreachable or Rejected(ShuttingDown), got {other:?}"
        ),
    };
    assert_eq!(
        peer, names[1],
        "compliance case {CASE}: the error names the wrong peer"
    );
    assert!(
        parties.inboxes[1].is_empty(),
        "compliance case {CASE}: a peer that shut down recorded a packet"
    );
    parties.shutdown(CASE).await;
}

/// Packets of 8 MiB and 32 MiB of pseudo-random bytes arrive byte-identical.
pub async fn large_packets<H: Harness>(h: &H) {
    const CASE: &str = "large_packets";
    const SIZES: [usize; 2] = [8 << 20, 32 << 20];
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    let sent: Vec<Bytes> = SIZES
        .iter()
        .zip(1u64..)
        .map(|(&size, seed)| pseudo_random(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), size))
        .collect();
    for packet in &sent {
        let what = format!("send of {} bytes", packet.len());
        let send = parties.transports[0].send(names[1], packet.clone());
        expect_sent(CASE, &what, send).await;
    }
    let received = parties.inboxes[1].received();
    assert_eq!(
        received.len(),
        sent.len(),
        "compliance case {CASE}: {} packets arrived, {} were sent",
        received.len(),
        sent.len()
    );
    for ((from, got), want) in received.iter().zip(&sent) {
        assert_eq!(
            from, names[0],
            "compliance case {CASE}: recorded under the wrong sender"
        );
        assert_same_bytes(CASE, &format!("{} byte packet", want.len()), got, want);
    }
    parties.shutdown(CASE).await;
}

/// A starts many sends to B, then shuts down while they are in flight.
///
/// Every send resolves (Ok or Err) and nothing panics; B recorded only
/// packets that were sent, each at most once, and every packet whose send
/// resolved `Ok`. After the shutdown (which is idempotent), new sends fail
/// with [`TransportError::Closed`].
pub async fn shutdown_while_sending<H: Harness>(h: &H) {
    const CASE: &str = "shutdown_while_sending";
    const COUNT: usize = 200;
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    let sender = Arc::clone(&parties.transports[0]);

    let mut tasks = JoinSet::new();
    for i in 0..COUNT {
        let transport = Arc::clone(&sender);
        tasks.spawn(async move {
            let packet = tagged(names[0], names[1], i);
            let result = transport.send(names[1], packet.clone()).await;
            (packet, result)
        });
        if i == COUNT / 2 {
            // Let the first half get under way (or finish) before the
            // shutdown; the second half starts around or after it.
            tokio::task::yield_now().await;
        }
    }
    guard(CASE, "shutdown while sending", sender.shutdown()).await;

    let outcomes = guard(CASE, "the sends in flight at shutdown", async {
        let mut outcomes = Vec::with_capacity(COUNT);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(outcome) => outcomes.push(outcome),
                Err(err) => panic!("compliance case {CASE}: a send task failed: {err}"),
            }
        }
        outcomes
    })
    .await;
    let accepted: Vec<&Bytes> = outcomes
        .iter()
        .filter(|(_, result)| result.is_ok())
        .map(|(packet, _)| packet)
        .collect();
    tracing::debug!(
        accepted = accepted.len(),
        failed = COUNT - accepted.len(),
        "compliance: sends in flight at shutdown resolved"
    );

    let sent: HashSet<Bytes> = outcomes.iter().map(|(packet, _)| packet.clone()).collect();
    let mut seen = HashSet::new();
    for (from, packet) in parties.inboxes[1].received() {
        assert_eq!(
            from, names[0],
            "compliance case {CASE}: recorded under the wrong sender"
        );
        assert!(
            sent.contains(&packet),
            "compliance case {CASE}: a packet that was never sent arrived: {packet:?}"
        );
        assert!(
            seen.insert(packet.clone()),
            "compliance case {CASE}: packet {packet:?} arrived twice"
        );
    }
    for packet in accepted {
        assert!(
            seen.contains(packet),
            "compliance case {CASE}: the send of {packet:?} resolved Ok but it never arrived"
        );
    }

    guard(CASE, "a second shutdown", sender.shutdown()).await;
    let result = guard(
        CASE,
        "send after shutdown",
        sender.send(names[1], tagged(names[0], names[1], COUNT)),
    )
    .await;
    match result {
        Err(TransportError::Closed) => {}
        other => {
            panic!("compliance case {CASE}: send after shutdown: expected Closed, got {other:?}")
        }
    }
    parties.shutdown(CASE).await;
}

/// A zero-length packet arrives as a zero-length packet.
pub async fn empty_packet<H: Harness>(h: &H) {
    const CASE: &str = "empty_packet";
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    let send = parties.transports[0].send(names[1], Bytes::new());
    expect_sent(CASE, "send of an empty packet", send).await;
    let what = "the empty packet did not arrive once, empty";
    parties.expect_only(CASE, names, Bytes::new(), what);
    parties.shutdown(CASE).await;
}

/// A packet sent in parts ([`Transport::send_parts`]) arrives as one packet,
/// the parts joined in order; a single part and an empty part list work too.
pub async fn packet_in_parts<H: Harness>(h: &H) {
    const CASE: &str = "packet_in_parts";
    let names = ["alice", "bob"];
    let parties = Parties::start(CASE, h, &names).await;
    let big: Bytes = (0..(1u32 << 20))
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let cases: Vec<Vec<Bytes>> = vec![
        vec![
            Bytes::from_static(b"head"),
            big.clone(),
            Bytes::from_static(b"tail"),
        ],
        vec![big.clone()],
        vec![Bytes::new(), Bytes::from_static(b"x"), Bytes::new()],
        vec![],
    ];
    for parts in &cases {
        let send = parties.transports[0].send_parts(names[1], parts.clone());
        expect_sent(CASE, "send_parts", send).await;
    }
    let got = parties.inboxes[1].received_from(names[0]);
    let want: Vec<Bytes> = cases.into_iter().map(crate::join).collect();
    assert!(
        got == want,
        "compliance case {CASE}: parts did not arrive joined, once each, in order"
    );
    parties.shutdown(CASE).await;
}
