//! Layer compression: detected from the data's magic bytes (a media type can lie, and
//! `docker save` archives carry no media types), and decompressed on a second thread so
//! inflating and file creation overlap. The uncompressed stream is hashed on the way, giving
//! the layer's diff id for free.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::digest::{Digest, Hasher};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The media type suffix convention: `+gzip`, `+zstd`, or nothing.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompressionError {
    #[error("the layer is compressed with {0}, which skiff does not support (use gzip, zstd or no compression)")]
    Unsupported(&'static str),
    #[error("reading the layer's first bytes failed: {0}")]
    Io(#[from] io::Error),
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];
const BZIP2_MAGIC: &[u8] = b"BZh";

/// Detects the compression from the start of a buffered stream, without consuming it.
pub fn detect(input: &mut impl BufRead) -> Result<Compression, CompressionError> {
    let head = loop {
        match input.fill_buf() {
            Ok(b) => break b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    };
    Ok(if head.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else if head.starts_with(XZ_MAGIC) {
        return Err(CompressionError::Unsupported("xz"));
    } else if head.starts_with(BZIP2_MAGIC) {
        return Err(CompressionError::Unsupported("bzip2"));
    } else {
        Compression::None
    })
}

/// A reader that decompresses `input` according to its magic bytes.
pub fn decompressor<'a, R: Read + 'a>(
    input: R,
) -> Result<(Compression, Box<dyn Read + 'a>), CompressionError> {
    let mut input = BufReader::with_capacity(256 * 1024, input);
    let compression = detect(&mut input)?;
    let reader: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(input),
        // Multi-member gzip, as Go's gzip reader (and so Docker) accepts.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
    };
    Ok((compression, reader))
}

const CHUNK: usize = 1 << 20;
const CHUNKS_IN_FLIGHT: usize = 4;

/// What is known about the stream once it was read to the end.
pub struct StreamSummary {
    pub compression: Compression,
    /// sha256 of the uncompressed stream: the diff id.
    pub diff_id: Digest,
    pub uncompressed_size: u64,
}

/// Runs `consume` on the decompressed `input` while another thread decompresses it. The
/// consumer's side hashes each chunk as it arrives (the decompressor is usually the slower
/// side, and hashing there would make the consumer wait for every chunk). `consume` must
/// read to EOF for the diff id to cover the whole stream ([`ChunkReader::drain`]).
pub fn with_decompressed<R, T, E>(
    input: R,
    consume: impl FnOnce(&mut ChunkReader) -> Result<T, E>,
) -> Result<(T, StreamSummary), PipelineError<E>>
where
    R: Read + Send,
{
    let (data_tx, data_rx) = sync_channel::<io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT + 2);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(input, data_tx, free_rx));
        let mut reader = ChunkReader {
            rx: data_rx,
            free: free_tx,
            chunk: Vec::new(),
            pos: 0,
            eof: false,
            hasher: Hasher::new(),
            total: 0,
        };
        let consumed = consume(&mut reader);
        let ChunkReader {
            rx,
            free,
            hasher,
            total,
            ..
        } = reader;
        // Closing our ends stops the producer if the consumer gave up early.
        drop((rx, free));
        let produced = producer.join().expect("decompression thread panicked");
        // A failing input also fails the consumer; the input's error says more.
        let compression = produced.map_err(PipelineError::Input)?;
        let value = consumed.map_err(PipelineError::Consumer)?;
        let summary = StreamSummary {
            compression,
            diff_id: hasher.finish(),
            uncompressed_size: total,
        };
        Ok((value, summary))
    })
}

#[derive(Debug)]
pub enum PipelineError<E> {
    /// Reading or decompressing the input failed.
    Input(CompressionError),
    Consumer(E),
}

fn produce<R: Read>(
    input: R,
    data_tx: SyncSender<io::Result<Vec<u8>>>,
    free_rx: Receiver<Vec<u8>>,
) -> Result<Compression, CompressionError> {
    let (compression, mut reader) = decompressor(input)?;
    loop {
        let mut buf = free_rx
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        buf.resize(CHUNK, 0);
        let mut filled = 0;
        let result = loop {
            if filled == CHUNK {
                break Ok(());
            }
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        buf.truncate(filled);
        if let Err(e) = result {
            let msg = e.to_string();
            let kind = e.kind();
            let _ = data_tx.send(Err(e));
            return Err(CompressionError::Io(io::Error::new(kind, msg)));
        }
        if filled == 0 {
            break;
        }
        if data_tx.send(Ok(buf)).is_err() {
            // The consumer stopped (it failed); its error is the one to report.
            break;
        }
    }
    Ok(compression)
}

/// The consumer's side: a `BufRead` over the chunks the producer sends.
pub struct ChunkReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    free: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    eof: bool,
    hasher: Hasher,
    total: u64,
}

impl ChunkReader {
    /// Reads and discards everything left, so the diff id covers the whole stream
    /// (tar archives often end with padding after the end-of-archive blocks).
    pub fn drain(&mut self) -> io::Result<u64> {
        let mut n = 0;
        loop {
            let len = self.fill_buf()?.len();
            if len == 0 {
                return Ok(n);
            }
            self.consume(len);
            n += len as u64;
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.chunk.len() && !self.eof {
            match self.rx.recv() {
                Ok(Ok(next)) => {
                    self.hasher.update(&next);
                    self.total += next.len() as u64;
                    let used = std::mem::replace(&mut self.chunk, next);
                    let _ = self.free.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => self.eof = true,
            }
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.chunk.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn detects_and_decompresses_each_format() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let inputs = [
            (Compression::None, data.clone()),
            (Compression::Gzip, gzip(&data)),
            (Compression::Zstd, zstd::encode_all(&data[..], 3).unwrap()),
        ];
        for (expected, blob) in inputs {
            let ((), summary) = with_decompressed(&blob[..], |r| -> Result<(), io::Error> {
                let mut out = Vec::new();
                r.read_to_end(&mut out)?;
                assert_eq!(out, data);
                Ok(())
            })
            .map_err(|_| "pipeline failed")
            .unwrap();
            assert_eq!(summary.compression, expected);
            assert_eq!(summary.diff_id, Digest::of(&data));
            assert_eq!(summary.uncompressed_size, data.len() as u64);
        }
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let blob = gzip(&vec![7u8; 1 << 20]);
        let cut = &blob[..blob.len() / 2];
        let result = with_decompressed(cut, |r| -> Result<u64, io::Error> { r.drain() });
        assert!(result.is_err());
        let unsupported =
            with_decompressed(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1][..], |r| r.drain());
        assert!(matches!(
            unsupported,
            Err(PipelineError::Input(CompressionError::Unsupported("xz")))
        ));
    }
}
