//! The I/O around the engine: one UDP socket and one ICE-TCP listener (RFC 4571 framing)
//! on the same port, and one tokio task that owns the [`Sfu`] and feeds it packets,
//! commands and the time. Everything the live room does goes through [`SfuHandle`].

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use str0m::Candidate;
use str0m::net::{Protocol, TcpType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

use super::engine::{Sfu, SfuStats, Transmitter};
use super::{IceServer, Layer, ParticipantId, SfuError, SfuEvent, SfuSettings, TurnSettings};

/// Events for one participant, in the order they happened.
pub type SfuEvents = mpsc::UnboundedReceiver<SfuEvent>;

/// Socket buffers large enough for a keyframe burst to a dozen subscribers.
const SOCKET_BUFFER: usize = 4 << 20;
/// Packets read from the UDP socket before the timers get a turn.
const UDP_BATCH: usize = 64;
/// Frames queued for a slow ICE-TCP peer before newer ones are dropped.
const TCP_QUEUE: usize = 512;

/// Where the SFU listens and what it advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfuAddrs {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    /// The host candidates in every answer (UDP and TCP on each).
    pub advertised: Vec<SocketAddr>,
}

/// The live room's way to the SFU: cheap to clone; each call is a command to the driver
/// task. The task stops when the last handle is dropped.
#[derive(Clone)]
pub struct SfuHandle {
    commands: mpsc::UnboundedSender<Command>,
    addrs: Arc<SfuAddrs>,
    turn: Option<Arc<TurnSettings>>,
}

enum Command {
    Join(
        String,
        ParticipantId,
        oneshot::Sender<Result<SfuEvents, SfuError>>,
    ),
    Offer(
        ParticipantId,
        String,
        oneshot::Sender<Result<String, SfuError>>,
    ),
    Answer(ParticipantId, String, oneshot::Sender<Result<(), SfuError>>),
    Candidate(ParticipantId, String, oneshot::Sender<Result<(), SfuError>>),
    Muted(
        ParticipantId,
        bool,
        bool,
        oneshot::Sender<Result<(), SfuError>>,
    ),
    Layer(
        ParticipantId,
        ParticipantId,
        Layer,
        oneshot::Sender<Result<(), SfuError>>,
    ),
    Leave(ParticipantId, oneshot::Sender<()>),
    Stats(oneshot::Sender<SfuStats>),
    RoomSize(String, oneshot::Sender<usize>),
}

impl SfuHandle {
    /// Opens the sockets the settings name and starts the driver on the current tokio
    /// runtime.
    pub async fn start(settings: &SfuSettings) -> Result<SfuHandle, SfuError> {
        let (udp, tcp) = bind(settings).await?;
        let port = udp.local_addr()?.port();
        let advertised: Vec<SocketAddr> = advertised_ips(settings)
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        let mut candidates = Vec::new();
        for addr in &advertised {
            if let Ok(c) = Candidate::host(*addr, "udp") {
                candidates.push(c);
            }
            if let Ok(c) = Candidate::builder()
                .tcp()
                .host(*addr)
                .tcptype(TcpType::Passive)
                .build()
            {
                candidates.push(c);
            }
        }
        let addrs = Arc::new(SfuAddrs {
            udp: udp.local_addr()?,
            tcp: tcp.local_addr()?,
            advertised,
        });
        tracing::info!(udp = %addrs.udp, tcp = %addrs.tcp, "sfu: listening");
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(Sfu::new(candidates), udp, tcp, rx, addrs.clone()));
        Ok(SfuHandle {
            commands,
            addrs,
            turn: settings.turn.clone().map(Arc::new),
        })
    }

    pub fn addrs(&self) -> &SfuAddrs {
        &self.addrs
    }

    /// The `iceServers` for `user`'s page: the TURN server with fresh credentials, when
    /// one is configured.
    pub fn ice_servers(&self, user: &str) -> Vec<IceServer> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.turn
            .iter()
            .filter(|t| !t.urls.is_empty())
            .map(|t| t.ice_server(user, now))
            .collect()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SfuError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .map_err(|_| SfuError::Stopped)?;
        rx.await.map_err(|_| SfuError::Stopped)
    }

    /// Puts `participant` in `room`; the receiver carries every event about it.
    pub async fn join(
        &self,
        room: &str,
        participant: ParticipantId,
    ) -> Result<SfuEvents, SfuError> {
        self.call(|r| Command::Join(room.to_owned(), participant, r))
            .await?
    }

    /// The browser's offer (initial, renegotiation or ICE restart) → our answer.
    pub async fn offer(&self, participant: ParticipantId, sdp: String) -> Result<String, SfuError> {
        self.call(|r| Command::Offer(participant, sdp, r)).await?
    }

    /// The browser's answer to an [`SfuEvent::SdpOffer`].
    pub async fn answer(&self, participant: ParticipantId, sdp: String) -> Result<(), SfuError> {
        self.call(|r| Command::Answer(participant, sdp, r)).await?
    }

    /// A candidate the browser trickled.
    pub async fn candidate(
        &self,
        participant: ParticipantId,
        cand: String,
    ) -> Result<(), SfuError> {
        self.call(|r| Command::Candidate(participant, cand, r))
            .await?
    }

    /// Server-enforced mute: while `audio` (`video`) is true, nobody receives that
    /// participant's audio (video).
    pub async fn set_muted(
        &self,
        participant: ParticipantId,
        audio: bool,
        video: bool,
    ) -> Result<(), SfuError> {
        self.call(|r| Command::Muted(participant, audio, video, r))
            .await?
    }

    /// The best layer of `publisher`'s video `subscriber` wants (a small tile wants
    /// [`Layer::Low`]).
    pub async fn set_preferred_layer(
        &self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        layer: Layer,
    ) -> Result<(), SfuError> {
        self.call(|r| Command::Layer(subscriber, publisher, layer, r))
            .await?
    }

    /// Forgets `participant`; its tracks leave everyone else's connection.
    pub async fn leave(&self, participant: ParticipantId) {
        let _ = self.call(|r| Command::Leave(participant, r)).await;
    }

    pub async fn stats(&self) -> Result<SfuStats, SfuError> {
        self.call(Command::Stats).await
    }

    /// How many participants `room` has; 0 once it is gone.
    pub async fn room_size(&self, room: &str) -> Result<usize, SfuError> {
        self.call(|r| Command::RoomSize(room.to_owned(), r)).await
    }
}

async fn bind(settings: &SfuSettings) -> Result<(UdpSocket, TcpListener), SfuError> {
    let ip = settings.bind.ip();
    let ports: Vec<u16> = match (settings.bind.port(), settings.port_range) {
        (0, Some(r)) => (r.min..=r.max).collect(),
        // The system picks the UDP port; TCP may find it taken, so try a few.
        (0, None) => vec![0; 16],
        (p, _) => vec![p],
    };
    let mut last = None;
    for port in ports {
        let udp = match udp_socket(SocketAddr::new(ip, port)) {
            Ok(s) => s,
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(ip, port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(SfuError::Io(
        last.unwrap_or_else(|| std::io::Error::other("no port to try")),
    ))
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    // Best effort: the system may cap them lower.
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The addresses browsers are told to reach.
fn advertised_ips(settings: &SfuSettings) -> Vec<IpAddr> {
    if !settings.public_addresses.is_empty() {
        return settings.public_addresses.clone();
    }
    let bind = settings.bind.ip();
    if !bind.is_unspecified() {
        return vec![bind];
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| ip.is_ipv4() == bind.is_ipv4())
        .filter(|ip| match ip {
            // Link-local IPv6 needs a scope id, which candidates cannot carry.
            IpAddr::V6(v6) => !v6.is_unicast_link_local(),
            IpAddr::V4(_) => true,
        })
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

impl SfuAddrs {
    /// The advertised address a packet from `source` was sent to. One socket bound to
    /// every interface cannot tell, so this takes the advertised address of the same
    /// family (a loopback one for a loopback peer), which is exact for a server with one
    /// address, or one public address in front of it.
    fn local_for(&self, source: SocketAddr, actual: Option<SocketAddr>) -> SocketAddr {
        if let Some(a) = actual
            && self.advertised.contains(&a)
        {
            return a;
        }
        let same_family = |a: &&SocketAddr| a.is_ipv4() == source.is_ipv4();
        self.advertised
            .iter()
            .filter(same_family)
            .find(|a| a.ip().is_loopback() == source.ip().is_loopback())
            .or_else(|| self.advertised.iter().find(same_family))
            .or(self.advertised.first())
            .copied()
            .unwrap_or(self.udp)
    }
}

enum TcpIn {
    Frame(SocketAddr, Option<SocketAddr>, Vec<u8>),
    Closed(SocketAddr),
}

struct Net<'a> {
    udp: &'a UdpSocket,
    tcp: &'a HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
}

impl Transmitter for Net<'_> {
    fn send(&mut self, proto: Protocol, _source: SocketAddr, destination: SocketAddr, data: &[u8]) {
        match proto {
            Protocol::Udp => {
                if let Err(e) = self.udp.try_send_to(data, destination)
                    && e.kind() != ErrorKind::WouldBlock
                {
                    tracing::debug!(error = %e, %destination, "sfu: udp send failed");
                }
            }
            Protocol::Tcp => {
                let Some(conn) = self.tcp.get(&destination) else {
                    return;
                };
                let Ok(len) = u16::try_from(data.len()) else {
                    return;
                };
                let mut framed = Vec::with_capacity(data.len() + 2);
                framed.extend_from_slice(&len.to_be_bytes());
                framed.extend_from_slice(data);
                let _ = conn.try_send(framed);
            }
            Protocol::SslTcp | Protocol::Tls => {}
        }
    }
}

async fn run(
    mut sfu: Sfu,
    udp: UdpSocket,
    tcp: TcpListener,
    mut commands: mpsc::UnboundedReceiver<Command>,
    addrs: Arc<SfuAddrs>,
) {
    let (tcp_tx, mut tcp_rx) = mpsc::channel::<TcpIn>(1024);
    let mut conns: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = sfu.next_timeout(Instant::now());
        tokio::select! {
            ready = udp.readable() => {
                if ready.is_ok() {
                    let mut net = Net { udp: &udp, tcp: &conns };
                    for _ in 0..UDP_BATCH {
                        match udp.try_recv_from(&mut buf) {
                            Ok((n, source)) => {
                                let destination = addrs.local_for(source, None);
                                sfu.receive(Instant::now(), Protocol::Udp, source, destination, &buf[..n], &mut net);
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) => {
                                // ICMP errors from a peer that went away surface here.
                                tracing::trace!(error = %e, "sfu: udp receive failed");
                                break;
                            }
                        }
                    }
                }
            }
            accepted = tcp.accept() => {
                if let Ok((stream, peer)) = accepted {
                    conns.insert(peer, spawn_connection(stream, peer, tcp_tx.clone()));
                }
            }
            Some(msg) = tcp_rx.recv() => match msg {
                TcpIn::Frame(peer, local, data) => {
                    let destination = addrs.local_for(peer, local);
                    let mut net = Net { udp: &udp, tcp: &conns };
                    sfu.receive(Instant::now(), Protocol::Tcp, peer, destination, &data, &mut net);
                }
                TcpIn::Closed(peer) => {
                    conns.remove(&peer);
                }
            },
            command = commands.recv() => {
                let Some(command) = command else {
                    break;
                };
                let mut net = Net { udp: &udp, tcp: &conns };
                execute(&mut sfu, command, &mut net);
            }
            _ = tokio::time::sleep_until(deadline.into()) => {}
        }
        let mut net = Net {
            udp: &udp,
            tcp: &conns,
        };
        sfu.timeout(Instant::now(), &mut net);
    }
}

fn execute(sfu: &mut Sfu, command: Command, net: &mut Net<'_>) {
    let now = Instant::now();
    // A caller that stopped waiting for the reply does not change what was done.
    match command {
        Command::Join(room, id, reply) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let _ = reply.send(sfu.join(&room, id, tx, now).map(|()| rx));
        }
        Command::Offer(id, sdp, reply) => {
            let _ = reply.send(sfu.offer(id, &sdp, now, net));
        }
        Command::Answer(id, sdp, reply) => {
            let _ = reply.send(sfu.answer(id, &sdp, now, net));
        }
        Command::Candidate(id, cand, reply) => {
            let _ = reply.send(sfu.candidate(id, &cand, now, net));
        }
        Command::Muted(id, audio, video, reply) => {
            let _ = reply.send(sfu.set_muted(id, audio, video));
        }
        Command::Layer(sub, publisher, layer, reply) => {
            let _ = reply.send(sfu.set_preferred_layer(sub, publisher, layer));
        }
        Command::Leave(id, reply) => {
            sfu.leave(id, now, net);
            let _ = reply.send(());
        }
        Command::Stats(reply) => {
            let _ = reply.send(sfu.stats());
        }
        Command::RoomSize(room, reply) => {
            let _ = reply.send(sfu.room_size(&room));
        }
    }
}

/// Reads RFC 4571 frames from one ICE-TCP peer into the driver, and writes the driver's
/// frames back.
fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    to_driver: mpsc::Sender<TcpIn>,
) -> mpsc::Sender<Vec<u8>> {
    let local = stream.local_addr().ok();
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_QUEUE);
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let mut len = [0u8; 2];
            if reader.read_exact(&mut len).await.is_err() {
                break;
            }
            let mut data = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if reader.read_exact(&mut data).await.is_err() {
                break;
            }
            if to_driver
                .send(TcpIn::Frame(peer, local, data))
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = to_driver.send(TcpIn::Closed(peer)).await;
    });
    tx
}
