//! Mesos' RecordIO framing of the event stream: each record is its length in ASCII decimal,
//! a newline, then that many bytes. Chunks of the HTTP body may split a record anywhere (proxies
//! re-chunk), so the decoder buffers across them.

use bytes::{Buf, BytesMut};

/// The longest record taken (the master's own events are far smaller): a longer length is a
/// broken stream, not a reason to buffer without bound.
pub const MAX_RECORD: usize = 64 << 20;

/// Why the stream is not RecordIO.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    #[error("RecordIO record length {0:?} is not a positive decimal number")]
    BadLength(String),
    #[error("RecordIO record of {0} bytes is longer than the {MAX_RECORD} taken")]
    TooLong(usize),
}

/// Splits a byte stream into records.
///
/// ```
/// use ardent_scheduler::mesos::recordio::Records;
/// let mut records = Records::default();
/// records.push(b"20\n{\"type\":\"HEART");
/// assert_eq!(records.next_record().unwrap(), None, "half a record");
/// records.push(b"BEAT\"}5\nhello");
/// assert_eq!(records.next_record().unwrap().as_deref(), Some(&b"{\"type\":\"HEARTBEAT\"}"[..]));
/// assert_eq!(records.next_record().unwrap().as_deref(), Some(&b"hello"[..]));
/// ```
#[derive(Debug, Default)]
pub struct Records {
    buffer: BytesMut,
}

impl Records {
    /// Adds the next chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next whole record, if the stream holds one yet.
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, RecordIoError> {
        let Some(newline) = self.buffer.iter().position(|&b| b == b'\n') else {
            if self.buffer.len() > 20 {
                // No u64 needs more digits than that.
                return Err(RecordIoError::BadLength(
                    String::from_utf8_lossy(&self.buffer[..20]).into_owned(),
                ));
            }
            return Ok(None);
        };
        let digits = &self.buffer[..newline];
        let length = std::str::from_utf8(digits)
            .ok()
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                RecordIoError::BadLength(String::from_utf8_lossy(digits).into_owned())
            })?;
        if length > MAX_RECORD {
            return Err(RecordIoError::TooLong(length));
        }
        if self.buffer.len() < newline + 1 + length {
            return Ok(None);
        }
        self.buffer.advance(newline + 1);
        Ok(Some(self.buffer.split_to(length).to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(record: &[u8]) -> Vec<u8> {
        let mut framed = format!("{}\n", record.len()).into_bytes();
        framed.extend_from_slice(record);
        framed
    }

    #[test]
    fn records_split_anywhere_come_out_whole() {
        let stream: Vec<u8> = [&b"first"[..], b"second record", b"{}"]
            .iter()
            .flat_map(|r| frame(r))
            .collect();
        for split in 0..stream.len() {
            let mut records = Records::default();
            let mut out = Vec::new();
            for chunk in [&stream[..split], &stream[split..]] {
                records.push(chunk);
                while let Some(r) = records.next_record().unwrap() {
                    out.push(r);
                }
            }
            assert_eq!(
                out,
                [&b"first"[..], b"second record", b"{}"],
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_broken_length_is_an_error() {
        for bad in [&b"x1\nab"[..], b"0\n", b"-3\nabc", b"\nabc"] {
            let mut records = Records::default();
            records.push(bad);
            assert!(
                matches!(records.next_record(), Err(RecordIoError::BadLength(_))),
                "{bad:?}"
            );
        }
        let mut records = Records::default();
        records.push(b"999999999999\n");
        assert_eq!(
            records.next_record(),
            Err(RecordIoError::TooLong(999_999_999_999))
        );
        let mut records = Records::default();
        records.push(&[b'7'; 25]);
        assert!(records.next_record().is_err(), "no newline after 20 digits");
    }
}
