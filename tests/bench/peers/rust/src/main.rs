//! One workload of the side-by-side peer benchmark through the upstream Rust thin client
//! (katzenpost_thin_client). Same arguments and output line as kpthin_driver.cpp in the
//! directory above, which documents the workloads:
//!
//!   rust-driver THINCLIENT_TOML connect|keypair1|keypair64|pair N
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use katzenpost_thin_client::{Config, ThinClient};
use rand::RngCore;

const WARMUP: usize = 50;
const DEPTH: usize = 64;
const SEED: [u8; 32] = [0x42; 32];

type Error = Box<dyn std::error::Error + Send + Sync>;

fn cpu_seconds() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

// ThinClient::new returns before its worker has finished the handshake; the first request is
// sent right away as an application would (the daemon answers it after the session token).
async fn connect(config: &str) -> Result<Arc<ThinClient>, Error> {
    let cfg = Config::new(config).map_err(|e| e.to_string())?;
    Ok(ThinClient::new(cfg).await.map_err(|e| e.to_string())?)
}

async fn connect_cycles(config: &str, n: usize) -> Result<(), Error> {
    for _ in 0..n {
        let client = connect(config).await?;
        client.new_keypair(&SEED).await?;
        client.stop().await;
    }
    Ok(())
}

async fn keypairs(client: &ThinClient, n: usize) -> Result<(), Error> {
    for _ in 0..n {
        client.new_keypair(&SEED).await?;
    }
    Ok(())
}

// `total` round trips with `depth` kept outstanding: `depth` tasks drawing from one count.
async fn keypairs_in_flight(client: &Arc<ThinClient>, depth: usize, total: usize) -> Result<(), Error> {
    let left = Arc::new(AtomicI64::new(total as i64));
    let mut tasks = Vec::new();
    for _ in 0..depth {
        let (client, left) = (Arc::clone(client), Arc::clone(&left));
        tasks.push(tokio::spawn(async move {
            while left.fetch_sub(1, Ordering::Relaxed) > 0 {
                client.new_keypair(&SEED).await?;
            }
            Ok::<(), katzenpost_thin_client::ThinClientError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

struct Channel {
    write_cap: Vec<u8>,
    read_cap: Vec<u8>,
    index: Vec<u8>,
}

async fn pairs(client: &ThinClient, channel: &mut Channel, n: usize) -> Result<(), Error> {
    let payload = vec![b'p'; 100];
    for _ in 0..n {
        let w = client.encrypt_write(&payload, &channel.write_cap, &channel.index).await?;
        client
            .start_resending_encrypted_message(
                None, Some(&channel.write_cap), None, None,
                &w.envelope_descriptor, &w.message_ciphertext, &w.envelope_hash)
            .await?;
        let r = client.encrypt_read(&channel.read_cap, &channel.index).await?;
        let got = client
            .start_resending_encrypted_message(
                Some(&channel.read_cap), None, Some(&channel.index), Some(0),
                &r.envelope_descriptor, &r.message_ciphertext, &r.envelope_hash)
            .await?;
        if got.plaintext != payload {
            return Err("read returned other bytes than written".into());
        }
        channel.index = w.next_message_box_index;
    }
    Ok(())
}

async fn run(config: String, workload: String, n: usize) -> Result<(), Error> {
    let mut client = None;
    let cpu0;
    let t0;
    if workload == "connect" {
        cpu0 = cpu_seconds();
        t0 = Instant::now();
        connect_cycles(&config, n).await?;
    } else {
        let c = connect(&config).await?;
        match workload.as_str() {
            "keypair1" => {
                keypairs(&c, WARMUP).await?;
                cpu0 = cpu_seconds();
                t0 = Instant::now();
                keypairs(&c, n).await?;
            }
            "keypair64" => {
                keypairs_in_flight(&c, DEPTH, WARMUP * 4).await?;
                cpu0 = cpu_seconds();
                t0 = Instant::now();
                keypairs_in_flight(&c, DEPTH, n).await?;
            }
            "pair" => {
                let mut seed = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut seed); // a fresh channel per run
                let keys = c.new_keypair(&seed).await?;
                let mut channel = Channel {
                    write_cap: keys.write_cap,
                    read_cap: keys.read_cap,
                    index: keys.first_message_index,
                };
                pairs(&c, &mut channel, WARMUP / 5).await?;
                cpu0 = cpu_seconds();
                t0 = Instant::now();
                pairs(&c, &mut channel, n).await?;
            }
            other => return Err(format!("unknown workload {other}").into()),
        }
        client = Some(c);
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    if let Some(c) = client {
        c.stop().await;
    }
    println!("{{\"ops\": {n}, \"wall_s\": {wall:.6}, \"cpu_s\": {cpu:.6}}}");
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: rust-driver THINCLIENT_TOML connect|keypair1|keypair64|pair N");
        std::process::exit(2);
    }
    let n: usize = args[3].parse().expect("N");
    if let Err(e) = run(args[1].clone(), args[2].clone(), n).await {
        eprintln!("rust driver: {e}");
        std::process::exit(1);
    }
}
