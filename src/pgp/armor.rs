//! Strict ASCII armor (RFC 9580 §6.2) decoding, and an OpenPGP packet framing check, both
//! written so that no input makes them panic, and both fed in pieces of any size in bounded
//! memory ([`Dearmor`], [`Framing`]) so that a message is checked as it streams
//! (crate::pgp::stream_open); [`dearmor`] feeds a whole buffer at once. And the armor
//! writer [`Armor`], which encryption writes through.
//!
//! Why not Sequoia's armor reader: on a character outside the base64 alphabet (one `*` in the
//! middle of a PGP/MIME part) it hands the packet parser the octets decoded so far as if the
//! message ended there, and only reports "Invalid ASCII Armor footer" afterwards. The packet
//! parser then sees a truncated message, and a truncated SEIPD v1 packet with 18 to 39 octets of
//! ciphertext makes sequoia-openpgp 2.4.2 panic (`src/parse.rs:6367`,
//! `reader.data_consume_hard(bl + 2).unwrap()` in `PacketParser::decrypt_`, which needs the
//! quick-check octets *and* the 22-octet MDC reserve to be present). [`Dearmor`] refuses
//! corrupted armor at the line where it is, so the parser gets an error there instead of an
//! end; [`Framing`] refuses truncated packets and SEIPD v1 packets too short for that
//! `unwrap`, armored or not, before their last octets are handed on.

use crate::{Error, Result};

/// Decodes ASCII armor strictly; binary OpenPGP data (first octet with bit 7 set) is returned
/// unchanged. The rules are those of [`Dearmor`], fed the whole input at once.
pub(crate) fn dearmor(data: &[u8]) -> Result<Vec<u8>> {
    match data.first() {
        None => return Err(bad("no OpenPGP data")),
        Some(b) if b & 0x80 != 0 => return Ok(data.to_vec()),
        Some(_) => {}
    }
    let mut d = Dearmor::new();
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    d.feed(data, &mut out)?;
    d.finish(&mut out)?;
    Ok(out)
}

/// The longest armor line, trailing blanks aside, that is not a base64 line. A BEGIN, END or
/// header line past it is refused, so that a [`Dearmor`] holds at most this much of a line
/// whatever it is fed; base64 lines of any length are decoded as they come (RFC 9580 §6.2 says
/// 76 characters, but a one-line body is no reason to refuse a message).
const LINE_CAP: usize = 4096;

/// Base64 symbols held after a `=` (padding can only end the body): past this many the body is
/// refused instead of held.
const PAD_CAP: usize = 1024;

/// Undecoded base64 symbols gathered before they are decoded in one call.
const BATCH: usize = 16 * 1024;

/// Where a [`Dearmor`] is in the armor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Blank lines before the BEGIN line.
    Lead,
    Headers,
    Body,
    /// After the END line: blank lines only.
    Trail,
}

/// A strict ASCII armor decoder (RFC 9580 §6.2) fed in pieces of any size, holding at most a
/// line of [`LINE_CAP`] octets and a few base64 symbols, so that a message of any size is
/// decoded in bounded memory; [`Dearmor::finish`] gives the verdict on the whole.
///
/// Accepted: optional blank lines, `-----BEGIN PGP <KIND>-----`, armor headers (`Key: Value`),
/// one blank line, base64 lines (the base64 alphabet, spaces and tabs only; `=` padding at the
/// end), an optional `=XXXX` CRC-24 line (checked), `-----END PGP <KIND>-----` with the same
/// kind, and trailing whitespace only. LF or CRLF line ends; trailing blanks on a line ignored.
/// A cleartext signed message (`BEGIN PGP SIGNED MESSAGE`) is not armor and is refused.
///
/// Anything else is an [`Error::Message`] naming the line: this never panics. Decoded octets
/// come out before the END line and the checksum are seen; whoever reads them must wait for
/// `finish` before trusting any of them.
#[derive(Debug)]
pub(crate) struct Dearmor {
    part: Part,
    /// The number of the current line, from 1.
    line_no: usize,
    /// The current line, when the octets fed so far did not end it.
    partial: Vec<u8>,
    /// A run of trailing blanks in `partial` was cut to one octet at this offset to stay under
    /// [`LINE_CAP`]: if more than blanks follow, the line is longer than the cap.
    squeezed: Option<usize>,
    /// A base64 line too long to hold is being decoded as it comes; true once a CR was seen
    /// in it (an error if anything but blanks follows).
    long: Option<bool>,
    kind: Vec<u8>,
    crc: Option<[u8; 4]>,
    /// Base64 symbols not decoded yet: a partial quad, or everything from the first `=` on.
    symbols: Vec<u8>,
    /// Where the first `=` is in `symbols`.
    pad: Option<usize>,
    /// Symbols decoded so far, so that a base64 error names its offset in the whole body.
    consumed: usize,
    decoded: u64,
    sum: u32,
}

impl Dearmor {
    pub(crate) fn new() -> Self {
        Dearmor {
            part: Part::Lead,
            line_no: 1,
            partial: Vec::new(),
            squeezed: None,
            long: None,
            kind: Vec::new(),
            crc: None,
            symbols: Vec::new(),
            pad: None,
            consumed: 0,
            decoded: 0,
            sum: CRC24_INIT,
        }
    }

    /// Decodes what it can of `data`, appending the octets to `out`.
    pub(crate) fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        while !data.is_empty() {
            let nl = data.iter().position(|&b| b == b'\n');
            let (piece, rest) = match nl {
                Some(i) => (&data[..i], &data[i + 1..]),
                None => (data, &data[data.len()..]),
            };
            data = rest;
            if let Some(mut cr) = self.long {
                self.body_bytes(piece, &mut cr, out)?;
                self.long = Some(cr);
                if nl.is_some() {
                    self.long = None;
                    self.line_no += 1;
                }
                continue;
            }
            if nl.is_none() {
                self.partial.extend_from_slice(piece);
                if self.partial.len() > LINE_CAP {
                    self.overflow(out)?;
                }
                continue;
            }
            if self.partial.is_empty() {
                self.line(piece, out)?;
            } else {
                let mut l = std::mem::take(&mut self.partial);
                l.extend_from_slice(piece);
                self.line(&l, out)?;
                l.clear();
                self.partial = l;
            }
            self.line_no += 1;
        }
        self.flush(out)
    }

    /// Ends the input: the last line, the structure, the rest of the base64 and the checksum.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.long.take().is_none() && !self.partial.is_empty() {
            let l = std::mem::take(&mut self.partial);
            self.line(&l, out)?;
        }
        match self.part {
            Part::Lead => return Err(bad("no ASCII armor BEGIN line")),
            Part::Headers => return Err(bad("ASCII armor ends in its header")),
            Part::Body => return Err(bad("ASCII armor without its END line")),
            Part::Trail => {}
        }
        self.flush(out)?;
        let start = out.len();
        B64.decode_vec(&self.symbols, out)
            .map_err(|e| bad(&format!("bad base64 in the armor body: {}", self.at(e))))?;
        self.got(&out[start..]);
        self.symbols.clear();
        if self.decoded == 0 {
            return Err(bad("empty ASCII armor body"));
        }
        if let Some(sum) = self.crc {
            let want = B64
                .decode(sum)
                .map_err(|e| bad(&format!("bad armor checksum: {e}")))?;
            let got = (self.sum & 0x00ff_ffff).to_be_bytes();
            if want.as_slice() != &got[1..] {
                return Err(bad(
                    "armor checksum mismatch: the armored data is corrupted",
                ));
            }
        }
        Ok(())
    }

    /// One whole line, without its LF.
    fn line(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let n = self.line_no;
        let line = trim_end(raw);
        // Longer than the cap, counting a squeezed run that more than blanks followed.
        let long = line.len() > LINE_CAP || self.squeezed.take().is_some_and(|c| line.len() > c);
        match self.part {
            Part::Lead => {
                if line.is_empty() {
                    return Ok(());
                }
                let kind = line
                    .strip_prefix(b"-----BEGIN PGP ")
                    .and_then(|l| l.strip_suffix(b"-----"))
                    .filter(|k| !long && valid_kind(k))
                    .ok_or_else(|| bad_line(n, "not an ASCII armor BEGIN line"))?;
                if kind == b"SIGNED MESSAGE" {
                    return Err(bad_line(n, "a cleartext signed message is not ASCII armor"));
                }
                self.kind = kind.to_vec();
                self.part = Part::Headers;
            }
            Part::Headers => {
                if line.is_empty() {
                    self.part = Part::Body;
                } else if long {
                    return Err(bad_line(
                        n,
                        &format!("armor header longer than {LINE_CAP} octets"),
                    ));
                } else if !valid_header(line) {
                    return Err(bad_line(
                        n,
                        "not an armor header (or the blank line after the BEGIN line is missing)",
                    ));
                }
            }
            Part::Body => {
                if line.is_empty() {
                    return Ok(());
                }
                if line.starts_with(b"-----") {
                    let end = line
                        .strip_prefix(b"-----END PGP ")
                        .and_then(|l| l.strip_suffix(b"-----"));
                    if long || end != Some(self.kind.as_slice()) {
                        return Err(self.no_end(n));
                    }
                    self.part = Part::Trail;
                    return Ok(());
                }
                if self.crc.is_some() {
                    return Err(bad_line(n, "data after the armor checksum"));
                }
                if let [b'=', sum @ ..] = line
                    && let Ok(sum) = <[u8; 4]>::try_from(sum)
                    && sum.iter().all(|&b| is_b64(b) && b != b'=')
                {
                    self.crc = Some(sum);
                    return Ok(());
                }
                self.body_bytes(line, &mut false, out)?;
            }
            Part::Trail => {
                if !line.is_empty() {
                    return Err(bad_line(n, "data after the armor END line"));
                }
            }
        }
        Ok(())
    }

    /// `partial` grew past [`LINE_CAP`] without a line end.
    fn overflow(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let n = self.line_no;
        let c = trim_end(&self.partial).len();
        let content = &self.partial[..c];
        // Not a CRC line (`=XXXX`) nor an END line: a base64 line, decoded from here on as
        // it comes.
        if self.part == Part::Body && c > 5 && !content.starts_with(b"-----") {
            if self.crc.is_some() {
                return Err(bad_line(n, "data after the armor checksum"));
            }
            let l = std::mem::take(&mut self.partial);
            let mut cr = false;
            self.body_bytes(&l, &mut cr, out)?;
            self.long = Some(cr);
            self.squeezed = None;
            return Ok(());
        }
        if self.part == Part::Trail && c > 0 {
            return Err(bad_line(n, "data after the armor END line"));
        }
        if c > LINE_CAP {
            return Err(match self.part {
                Part::Lead => bad_line(n, "not an ASCII armor BEGIN line"),
                Part::Headers => {
                    bad_line(n, &format!("armor header longer than {LINE_CAP} octets"))
                }
                _ => self.no_end(n),
            });
        }
        // A long run of trailing blanks: one octet stands for it (a CR if it has one, which
        // is all the base64 and header checks need to know of it).
        let keep = if self.partial[c..].contains(&b'\r') {
            b'\r'
        } else {
            self.partial[c]
        };
        self.partial.truncate(c);
        self.partial.push(keep);
        self.squeezed = Some(c);
        Ok(())
    }

    fn no_end(&self, n: usize) -> Error {
        bad_line(
            n,
            &format!(
                "expected -----END PGP {}-----",
                String::from_utf8_lossy(&self.kind)
            ),
        )
    }

    /// Checks and gathers the base64 symbols of (a piece of) a body line. `cr`: a CR was seen
    /// on the line, an error once anything but blanks follows it (a trailing CR ends the line).
    fn body_bytes(&mut self, bytes: &[u8], cr: &mut bool, out: &mut Vec<u8>) -> Result<()> {
        let n = self.line_no;
        let mut rest = bytes;
        while let Some((&b, after)) = rest.split_first() {
            // A run of base64 symbols (no `=`, no blank, no CR) is taken at once: the one path
            // a body line takes, rather than a stop at every byte.
            let run = match *cr {
                true => 0,
                false => rest
                    .iter()
                    .position(|&c| !B64_SYMBOL[usize::from(c)])
                    .unwrap_or(rest.len()),
            };
            if run > 0 {
                self.symbols.extend_from_slice(&rest[..run]);
                rest = &rest[run..];
                continue;
            }
            rest = after;
            match b {
                b' ' | b'\t' => {}
                b'\r' => *cr = true,
                _ if *cr => {
                    return Err(bad_line(n, &format!("{} is not base64", describe(b'\r'))));
                }
                _ if !is_b64(b) => {
                    return Err(bad_line(n, &format!("{} is not base64", describe(b))));
                }
                _ => {
                    if b == b'=' && self.pad.is_none() {
                        self.pad = Some(self.symbols.len());
                    }
                    self.symbols.push(b);
                }
            }
        }
        if self.pad.is_some_and(|p| self.symbols.len() - p > PAD_CAP) {
            return Err(bad("bad base64 in the armor body: data after the padding"));
        }
        if self.symbols.len() >= BATCH {
            self.flush(out)?;
        }
        Ok(())
    }

    /// Decodes the whole quads before any `=`.
    fn flush(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let k = self.pad.unwrap_or(self.symbols.len()) / 4 * 4;
        if k == 0 {
            return Ok(());
        }
        let start = out.len();
        B64.decode_vec(&self.symbols[..k], out)
            .map_err(|e| bad(&format!("bad base64 in the armor body: {}", self.at(e))))?;
        self.got(&out[start..]);
        self.symbols.drain(..k);
        self.pad = self.pad.map(|p| p - k);
        self.consumed += k;
        Ok(())
    }

    fn got(&mut self, octets: &[u8]) {
        self.sum = crc24_update(self.sum, octets);
        self.decoded += octets.len() as u64;
    }

    /// A decoding error of the held symbols, with offsets in the whole body.
    fn at(&self, e: base64::DecodeError) -> base64::DecodeError {
        use base64::DecodeError as D;
        let base = self.consumed;
        match e {
            D::InvalidByte(i, b) => D::InvalidByte(base + i, b),
            D::InvalidLength(l) => D::InvalidLength(base + l),
            D::InvalidLastSymbol(i, b) => D::InvalidLastSymbol(base + i, b),
            D::InvalidPadding => D::InvalidPadding,
        }
    }
}

/// The longest line of base64 [`Armor`] writes, as Sequoia's armor writer (and gpg) do.
const ARMOR_LINE: usize = 64;

/// Encoded output gathered before it is written on: whole lines, a few KiB.
const ARMOR_OUT: usize = 64 * (ARMOR_LINE + 2);

/// An ASCII armor writer (RFC 9580 §6.2) for a message (`PGP MESSAGE`) that takes writes of any
/// size in a fixed few KiB. Why not Sequoia's (`armor::Writer`, under `Armorer`): it encodes
/// each write whole into a scratch buffer that grows to the write, and the partial-body filter
/// below it writes 4 MiB at a time, so a large message cost some 10 MiB of scratch.
///
/// The output is Sequoia's, byte for byte, but for the line ends: the BEGIN line, no armor
/// header, a blank line, base64 in lines of 64 characters, the `=XXXX` CRC-24 line (left out
/// under the RFC 9580 profile, as Sequoia leaves it out when the message is SEIPD v2 or signed
/// by v6 keys only), the END line, every line ending in CRLF (RFC 3156 §3: the armored message
/// is a MIME body, canonical CRLF). Nothing written, nothing out.
pub(crate) struct Armor<W: std::io::Write> {
    sink: W,
    /// The CRC-24 of what was written so far, or `None`: no checksum line.
    sum: Option<u32>,
    /// Up to two octets waiting for a third.
    stash: [u8; 3],
    stashed: usize,
    /// Characters on the current line.
    column: usize,
    out: Vec<u8>,
    begun: bool,
}

impl<W: std::io::Write> Armor<W> {
    /// Armors what is written into `sink`; `crc`: with the checksum line (RFC 4880 profile).
    pub(crate) fn new(sink: W, crc: bool) -> Self {
        Armor {
            sink,
            sum: crc.then_some(CRC24_INIT),
            stash: [0; 3],
            stashed: 0,
            column: 0,
            out: Vec::with_capacity(ARMOR_OUT),
            begun: false,
        }
    }

    /// Writes the last octets, the checksum and the END line; returns the sink.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        if !self.begun {
            return Ok(self.sink);
        }
        if self.stashed > 0 {
            let n = self.stashed;
            let at = self.out.len();
            self.out.resize(at + 4, 0);
            B64_OUT
                .encode_slice(&self.stash[..n], &mut self.out[at..])
                .map_err(std::io::Error::other)?;
            self.column += 4;
        }
        if self.column > 0 {
            self.out.extend_from_slice(b"\r\n");
        }
        if let Some(sum) = self.sum {
            self.out.push(b'=');
            let at = self.out.len();
            self.out.resize(at + 4, 0);
            B64_OUT
                .encode_slice(&sum.to_be_bytes()[1..], &mut self.out[at..])
                .map_err(std::io::Error::other)?;
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"-----END PGP MESSAGE-----\r\n");
        self.sink.write_all(&self.out)?;
        self.out.clear();
        Ok(self.sink)
    }

    /// Encodes whole triples of `data` (a multiple of 3 octets) onto the current line and the
    /// ones after it.
    fn encode(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let take = ((ARMOR_LINE - self.column) / 4 * 3).min(data.len());
            let (now, rest) = data.split_at(take);
            data = rest;
            let at = self.out.len();
            self.out.resize(at + take / 3 * 4, 0);
            B64_OUT
                .encode_slice(now, &mut self.out[at..])
                .map_err(std::io::Error::other)?;
            self.column += take / 3 * 4;
            if self.column == ARMOR_LINE {
                self.out.extend_from_slice(b"\r\n");
                self.column = 0;
                if self.out.len() + ARMOR_LINE + 2 > ARMOR_OUT {
                    self.sink.write_all(&self.out)?;
                    self.out.clear();
                }
            }
        }
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for Armor<W> {
    fn write(&mut self, mut data: &[u8]) -> std::io::Result<usize> {
        let len = data.len();
        if len == 0 {
            return Ok(0);
        }
        if !self.begun {
            self.begun = true;
            self.out
                .extend_from_slice(b"-----BEGIN PGP MESSAGE-----\r\n\r\n");
        }
        if let Some(sum) = self.sum.as_mut() {
            *sum = crc24_update(*sum, data);
        }
        if self.stashed > 0 {
            let n = (3 - self.stashed).min(data.len());
            self.stash[self.stashed..self.stashed + n].copy_from_slice(&data[..n]);
            self.stashed += n;
            data = &data[n..];
            if self.stashed < 3 {
                return Ok(len);
            }
            let triple = self.stash;
            self.stashed = 0;
            self.encode(&triple)?;
        }
        let whole = data.len() / 3 * 3;
        self.encode(&data[..whole])?;
        let rest = &data[whole..];
        self.stash[..rest.len()].copy_from_slice(rest);
        self.stashed = rest.len();
        Ok(len)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.write_all(&self.out)?;
        self.out.clear();
        self.sink.flush()
    }
}

/// Base64 as armor writes it: the standard alphabet, padded.
const B64_OUT: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The smallest SEIPD v1 ciphertext Sequoia can start decrypting without panicking: the largest
/// block size (16), the two quick-check octets, and the MDC packet (22 octets) it keeps in
/// reserve. No valid message is shorter: with 8-octet blocks, 10 + an empty literal data packet
/// (8) + the MDC (22) is 40 too.
const MIN_SEIPD1_CIPHERTEXT: u64 = 16 + 2 + 22;

/// Checks the packet framing of a binary OpenPGP message: [`Framing`] fed the whole of it.
#[cfg(test)]
pub(crate) fn check_framing(data: &[u8]) -> Result<()> {
    let mut f = Framing::default();
    f.feed(data)?;
    f.finish()
}

/// A top-level packet being framed.
#[derive(Debug, Clone, Copy)]
struct Packet {
    /// The octet offset of its CTB.
    start: u64,
    tag: u8,
    /// Body octets seen so far.
    total: u64,
    /// The first body octet (a SEIPD's version).
    first: Option<u8>,
}

#[derive(Debug, Default)]
enum Frame {
    /// Between packets.
    #[default]
    Boundary,
    /// In a length: after the CTB, or between the chunks of partial body lengths. `legacy`:
    /// the number of length octets a legacy CTB gave; `None` for the new format.
    Length {
        packet: Packet,
        legacy: Option<usize>,
        octets: [u8; 5],
        have: usize,
    },
    /// In a chunk of `left` octets; `more`: a partial body length, another length follows.
    Body {
        packet: Packet,
        left: u64,
        more: bool,
    },
    /// A legacy packet of indeterminate length: the rest of the data.
    Rest { packet: Packet },
}

/// Checks the packet framing of a binary OpenPGP message (RFC 9580 §4.2) fed in pieces, in
/// constant memory: every top-level packet (new or legacy format, partial body lengths
/// included) is complete, and every SEIPD v1 packet carries at least [`MIN_SEIPD1_CIPHERTEXT`]
/// octets of ciphertext. A packet is judged once its last octet is fed;
/// [`Framing::finish`] refuses data that ends inside one.
///
/// Packets nested inside compressed or encrypted data are not seen: this is a pre-check that
/// turns the common accidents (truncated or corrupted mail) into errors, not a parser.
#[derive(Debug, Default)]
pub(crate) struct Framing {
    /// Octets fed so far.
    at: u64,
    state: Frame,
}

impl Framing {
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<()> {
        while let [b, ..] = *data {
            let state = std::mem::take(&mut self.state);
            let used = match state {
                Frame::Boundary => {
                    let start = self.at;
                    if b & 0x80 == 0 {
                        return Err(bad(&format!("no OpenPGP packet header at octet {start}")));
                    }
                    let packet = |tag| Packet {
                        start,
                        tag,
                        total: 0,
                        first: None,
                    };
                    self.state = if b & 0x40 != 0 {
                        Frame::Length {
                            packet: packet(b & 0x3f),
                            legacy: None,
                            octets: [0; 5],
                            have: 0,
                        }
                    } else {
                        // Legacy format: the length type is in the CTB; 3 means "to the end".
                        let packet = packet((b >> 2) & 0x0f);
                        match b & 3 {
                            3 => Frame::Rest { packet },
                            t => Frame::Length {
                                packet,
                                legacy: Some(1 << t),
                                octets: [0; 5],
                                have: 0,
                            },
                        }
                    };
                    1
                }
                Frame::Length {
                    packet,
                    legacy,
                    mut octets,
                    have,
                } => {
                    octets[have] = b;
                    let have = have + 1;
                    self.state = match body_length(legacy, &octets[..have]) {
                        None => Frame::Length {
                            packet,
                            legacy,
                            octets,
                            have,
                        },
                        Some((0, false)) => {
                            end_packet(packet)?;
                            Frame::Boundary
                        }
                        Some((left, more)) => Frame::Body { packet, left, more },
                    };
                    1
                }
                Frame::Body {
                    mut packet,
                    left,
                    more,
                } => {
                    let k = left.min(data.len() as u64);
                    if packet.total == 0 {
                        packet.first = Some(b);
                    }
                    packet.total += k;
                    self.state = if k < left {
                        Frame::Body {
                            packet,
                            left: left - k,
                            more,
                        }
                    } else if more {
                        Frame::Length {
                            packet,
                            legacy: None,
                            octets: [0; 5],
                            have: 0,
                        }
                    } else {
                        end_packet(packet)?;
                        Frame::Boundary
                    };
                    // `k` is at most `data.len()`.
                    k as usize
                }
                Frame::Rest { mut packet } => {
                    if packet.total == 0 {
                        packet.first = Some(b);
                    }
                    packet.total += data.len() as u64;
                    self.state = Frame::Rest { packet };
                    data.len()
                }
            };
            self.at += used as u64;
            data = &data[used..];
        }
        Ok(())
    }

    /// Ends the data: it must not end inside a packet.
    pub(crate) fn finish(&mut self) -> Result<()> {
        if self.at == 0 {
            return Err(bad("no OpenPGP data"));
        }
        match std::mem::take(&mut self.state) {
            Frame::Boundary => Ok(()),
            Frame::Rest { packet } => end_packet(packet),
            Frame::Length { packet, .. } | Frame::Body { packet, .. } => Err(bad(&format!(
                "the OpenPGP message is truncated (packet at octet {})",
                packet.start
            ))),
        }
    }
}

/// A body length from its octets (RFC 9580 §4.2.1, §4.2.2): `(length, partial)`, or `None`
/// while more octets are needed.
fn body_length(legacy: Option<usize>, o: &[u8]) -> Option<(u64, bool)> {
    let be = |o: &[u8]| o.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64);
    if let Some(n) = legacy {
        return (o.len() == n).then(|| (be(o), false));
    }
    let o1 = o[0] as u64;
    match (o1, o.len()) {
        (0..=191, _) => Some((o1, false)),
        (192..=223, 2) => Some((((o1 - 192) << 8) + o[1] as u64 + 192, false)),
        (224..=254, _) => Some((1 << (o1 & 0x1f), true)),
        (255, 5) => Some((be(&o[1..]), false)),
        _ => None,
    }
}

/// Judges a whole top-level packet.
fn end_packet(p: Packet) -> Result<()> {
    if p.tag == 0 {
        return Err(bad(&format!("reserved packet tag 0 at octet {}", p.start)));
    }
    // SEIPD: version octet, then (v1) the CFB ciphertext.
    if p.tag == 18 {
        match p.first {
            Some(1) if p.total - 1 < MIN_SEIPD1_CIPHERTEXT => {
                return Err(bad(&format!(
                    "the OpenPGP message is truncated (encrypted data packet at octet {} \
                     holds {} octets)",
                    p.start,
                    p.total - 1
                )));
            }
            None => {
                return Err(bad(&format!(
                    "empty encrypted data packet at octet {}",
                    p.start
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Base64 as armor uses it; padding and the unused bits of the last symbol are not judged
/// (the CRC and the packet parser judge the content).
const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

use base64::Engine as _;

fn bad(what: &str) -> Error {
    Error::Message(format!("malformed OpenPGP data: {what}"))
}

fn bad_line(n: usize, what: &str) -> Error {
    bad(&format!("armor line {n}: {what}"))
}

fn describe(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("octet {c:#04x}")
    }
}

/// Strips the line end and trailing blanks (RFC 9580 §6.2: trailing whitespace is ignored).
fn trim_end(mut l: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\r'] = l {
        l = rest;
    }
    l
}

/// The base64 alphabet without `=`: a lookup, as the run of a body line is scanned.
const B64_SYMBOL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
        i += 1;
    }
    t
};

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// `MESSAGE`, `PUBLIC KEY BLOCK`, `SIGNATURE`, `MESSAGE, PART 1/2`, ...
fn valid_kind(k: &[u8]) -> bool {
    !k.is_empty()
        && k.iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" ,/".contains(&b))
}

/// `Key: Value`: a key of letters, digits and `-`, a colon, a UTF-8 value without controls.
fn valid_header(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let (key, value) = (&line[..colon], &line[colon + 1..]);
    !key.is_empty()
        && key.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        && std::str::from_utf8(value).is_ok_and(|v| !v.chars().any(|c| c.is_control() && c != '\t'))
}

/// CRC-24 of RFC 9580 §6.1.
#[cfg(test)]
fn crc24(data: &[u8]) -> u32 {
    crc24_update(CRC24_INIT, data)
}

const CRC24_INIT: u32 = 0x00b7_04ce;

/// The CRC-24 of each octet value, so that a streamed body costs one lookup per octet.
const CRC24_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 16;
        let mut k = 0;
        while k < 8 {
            c <<= 1;
            if c & 0x0100_0000 != 0 {
                c ^= 0x0186_4cfb;
            }
            k += 1;
        }
        t[i] = c & 0x00ff_ffff;
        i += 1;
    }
    t
};

/// The CRC of a byte that still has one more byte-step (T1) or two (T2) to go: three bytes are
/// then taken in one step of three independent lookups ("slicing by 3"), not three dependent
/// ones, a third of decoding a large armored message.
const CRC24_SLICES: [[u32; 256]; 2] = {
    let mut t = [[0u32; 256]; 2];
    let mut i = 0;
    while i < 256 {
        let t0 = CRC24_TABLE[i];
        let t1 = ((t0 << 8) ^ CRC24_TABLE[(t0 >> 16) as usize & 0xff]) & 0x00ff_ffff;
        t[0][i] = t1;
        t[1][i] = ((t1 << 8) ^ CRC24_TABLE[(t1 >> 16) as usize & 0xff]) & 0x00ff_ffff;
        i += 1;
    }
    t
};

fn crc24_update(mut crc: u32, data: &[u8]) -> u32 {
    let mut triples = data.chunks_exact(3);
    for t in &mut triples {
        let x = crc ^ (u32::from(t[0]) << 16 | u32::from(t[1]) << 8 | u32::from(t[2]));
        crc = CRC24_SLICES[1][(x >> 16) as usize & 0xff]
            ^ CRC24_SLICES[0][(x >> 8) as usize & 0xff]
            ^ CRC24_TABLE[x as usize & 0xff];
    }
    crc24_bytes(crc, triples.remainder())
}

/// One byte at a time (RFC 4880 §6.1).
fn crc24_bytes(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = ((crc << 8) ^ CRC24_TABLE[(((crc >> 16) as u8) ^ b) as usize]) & 0x00ff_ffff;
    }
    crc
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{Read as _, Write as _};

    #[test]
    fn crc24_by_threes_is_crc24_by_bytes() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for len in [0, 1, 2, 3, 4, 5, 6, 7, 100, 1999, 2000] {
            for start in [0, 0x00b7_04ce, 0x00ff_ffff] {
                assert_eq!(
                    super::crc24_update(start, &data[..len]),
                    super::crc24_bytes(start, &data[..len]),
                    "{len} {start:x}"
                );
            }
        }
    }

    use sequoia_openpgp as openpgp;

    use openpgp::Cert;
    use openpgp::armor::{Kind, Writer};
    use openpgp::crypto::SessionKey;
    use openpgp::packet::{PKESK, SKESK};
    use openpgp::parse::Parse as _;
    use openpgp::parse::stream::{
        DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
    };
    use openpgp::policy::StandardPolicy;
    use openpgp::serialize::stream::{Encryptor, LiteralWriter, Message};
    use openpgp::types::SymmetricAlgorithm;

    use super::*;

    /// 2026-06-01, when the test keys are valid (testdata/keys/pgp/README.md).
    fn now() -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_272_000)
    }

    fn key(file: &str) -> Cert {
        let path = format!("{}/testdata/keys/pgp/{file}", env!("CARGO_MANIFEST_DIR"));
        Cert::from_bytes(&std::fs::read(path).unwrap()).unwrap()
    }

    /// A binary OpenPGP message (PKESK + SEIPD v1) encrypted to bob.
    fn encrypted_to_bob() -> Vec<u8> {
        let bob = key("bob.cert");
        let p = StandardPolicy::new();
        let recipients: Vec<_> = bob
            .with_policy(&p, now())
            .unwrap()
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .collect();
        let mut out = Vec::new();
        let m = Message::new(&mut out);
        let m = Encryptor::for_recipients(m, recipients)
            .symmetric_algo(SymmetricAlgorithm::AES256)
            .build()
            .unwrap();
        let mut w = LiteralWriter::new(m).build().unwrap();
        w.write_all(b"Content-Type: text/plain\r\n\r\nhello bob\r\n")
            .unwrap();
        w.finalize().unwrap();
        out
    }

    /// Sequoia's armor (it writes the CRC line), with a header, CRLF line ends.
    fn armored(binary: &[u8]) -> Vec<u8> {
        let mut w =
            Writer::with_headers(Vec::new(), Kind::Message, [("Comment", "ximf test")]).unwrap();
        w.write_all(binary).unwrap();
        let out = w.finalize().unwrap();
        String::from_utf8(out)
            .unwrap()
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes()
    }

    fn body_middle(arm: &[u8]) -> usize {
        let begin = arm.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let end = arm.windows(3).position(|w| w == b"\r\n=").unwrap();
        (begin + end) / 2
    }

    fn err(r: Result<Vec<u8>>) -> String {
        match r {
            Err(Error::Message(m)) => m,
            Err(e) => panic!("wrong error kind: {e}"),
            Ok(d) => panic!("accepted: {} octets", d.len()),
        }
    }

    /// Sequoia's decryption helper holding one secret key (bob's here; the SEIPD framing
    /// tests use it too).
    pub(crate) struct KeyHolder(pub(crate) Cert);

    impl VerificationHelper for KeyHolder {
        fn get_certs(&mut self, _: &[openpgp::KeyHandle]) -> openpgp::Result<Vec<Cert>> {
            Ok(Vec::new())
        }
        fn check(&mut self, _: MessageStructure) -> openpgp::Result<()> {
            Ok(())
        }
    }

    impl DecryptionHelper for KeyHolder {
        fn decrypt(
            &mut self,
            pkesks: &[PKESK],
            _: &[SKESK],
            sym_algo: Option<SymmetricAlgorithm>,
            decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
        ) -> openpgp::Result<Option<Cert>> {
            for pkesk in pkesks {
                for ka in self.0.keys().secret() {
                    let Ok(mut kp) = ka.key().clone().into_keypair() else {
                        continue;
                    };
                    if let Some((algo, sk)) = pkesk.decrypt(&mut kp, sym_algo)
                        && decrypt(algo, &sk)
                    {
                        return Ok(None);
                    }
                }
            }
            Err(openpgp::Error::InvalidOperation("no key".into()).into())
        }
    }

    /// Sequoia's streaming decryption of `data`; `Err` when it panicked.
    fn sequoia_decrypt(data: &[u8], bob: &Cert) -> std::result::Result<bool, String> {
        let p = StandardPolicy::new();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            DecryptorBuilder::from_bytes(data)
                .and_then(|b| b.with_policy(&p, Some(now()), KeyHolder(bob.clone())))
                .and_then(|mut d| {
                    let mut out = Vec::new();
                    d.read_to_end(&mut out)?;
                    Ok(d.message_processed())
                })
                .unwrap_or(false)
        }))
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    }

    #[test]
    fn dearmor_round_trips_sequoia_armor() {
        let bin = encrypted_to_bob();
        let arm = armored(&bin);
        assert_eq!(dearmor(&arm).unwrap(), bin);
        // LF line ends, leading blank lines, trailing blanks, no CRC, no header.
        let lf = String::from_utf8(arm.clone())
            .unwrap()
            .replace("\r\n", "\n");
        assert_eq!(dearmor(format!("\n\n{lf}\n\n").as_bytes()).unwrap(), bin);
        let blanks = lf.replace('\n', "  \t\n");
        assert_eq!(dearmor(blanks.as_bytes()).unwrap(), bin);
        let no_crc: String = lf
            .lines()
            .filter(|l| !(l.starts_with("Comment") || l.starts_with('=') && l.len() == 5))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(dearmor(no_crc.as_bytes()).unwrap(), bin);
        // Binary input comes back unchanged.
        assert_eq!(dearmor(&bin).unwrap(), bin);
    }

    #[test]
    fn dearmor_reads_gpg_style_armor() {
        // gpg: Version/Comment headers, 64-column lines, CRC; here over a few octets.
        let data = b"\x8c\x0d\x04\x09\x03\x02hello, world";
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        let crc = base64::engine::general_purpose::STANDARD.encode(&crc24(data).to_be_bytes()[1..]);
        let arm = format!(
            "-----BEGIN PGP MESSAGE-----\nVersion: GnuPG v2\nComment: caf\u{e9}\n\n{b64}\n={crc}\n-----END PGP MESSAGE-----\n"
        );
        assert_eq!(dearmor(arm.as_bytes()).unwrap(), data);
        // The RFC 9580 §6.1 example CRC of nothing, and a known value.
        assert_eq!(crc24(b""), 0x00b7_04ce);
        assert_eq!(crc24(b"123456789"), 0x0021_cf02);
    }

    #[test]
    fn dearmor_refuses_a_star_in_the_body() {
        let arm = armored(&encrypted_to_bob());
        let mid = body_middle(&arm);
        let mut m = arm.clone();
        m.insert(mid, b'*');
        let e = err(dearmor(&m));
        assert!(e.contains("'*' is not base64"), "{e}");
        // Sequoia itself would have passed on a prefix of the data: the error names the line.
        assert!(e.contains("armor line"), "{e}");
    }

    #[test]
    fn dearmor_refuses_malformed_armor() {
        let arm = String::from_utf8(armored(&encrypted_to_bob())).unwrap();
        let body_line = arm.lines().nth(3).unwrap().to_owned();
        let cases: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("only blanks", "\n \n".into()),
            ("text", "hello\n".into()),
            (
                "no BEGIN",
                arm.replacen("-----BEGIN PGP MESSAGE-----", "", 1),
            ),
            (
                "BEGIN lower case",
                arm.replacen("BEGIN PGP MESSAGE", "BEGIN PGP message", 1),
            ),
            (
                "BEGIN indented",
                arm.replacen("-----BEGIN", " -----BEGIN", 1),
            ),
            (
                "cleartext",
                arm.replace("PGP MESSAGE", "PGP SIGNED MESSAGE"),
            ),
            (
                "END kind",
                arm.replacen("END PGP MESSAGE", "END PGP SIGNATURE", 1),
            ),
            ("no END", arm.replacen("-----END PGP MESSAGE-----", "", 1)),
            (
                "bad header",
                arm.replacen("Comment: ximf test", "Comment ximf test", 1),
            ),
            (
                "header control",
                arm.replacen("ximf test", "ximf\x07test", 1),
            ),
            (
                "no blank line",
                arm.replacen("ximf test\r\n\r\n", "ximf test\r\n", 1),
            ),
            ("CRC mismatch", {
                let mut s = arm.clone();
                let at = s.find("\r\n=").unwrap() + 3;
                let c = if &s[at..at + 1] == "A" { "B" } else { "A" };
                s.replace_range(at..at + 1, c);
                s
            }),
            (
                "data after CRC",
                arm.replacen("-----END", "QUJD\r\n-----END", 1),
            ),
            ("data after END", format!("{arm}trailing\r\n")),
            ("second block", format!("{arm}{arm}")),
            (
                "padding inside",
                arm.replacen(&body_line, &format!("{body_line}=="), 1),
            ),
            ("dash line", arm.replacen(&body_line, "-----", 1)),
            (
                "NUL",
                arm.replacen(&body_line, &format!("{body_line}\0"), 1),
            ),
            (
                "empty body",
                "-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n".into(),
            ),
        ];
        for (what, input) in cases {
            let e = err(dearmor(input.as_bytes()));
            assert!(e.starts_with("malformed OpenPGP data"), "{what}: {e}");
        }
    }

    /// Every ASCII octet inserted at several places: never a panic, and with the CRC present
    /// never different data (whitespace is the only harmless insertion in the body).
    #[test]
    fn dearmor_every_ascii_octet_anywhere_never_panics() {
        let bin = encrypted_to_bob();
        let arm = armored(&bin);
        let mid = body_middle(&arm);
        let crc_line = arm.windows(3).position(|w| w == b"\r\n=").unwrap() + 2;
        let end_line = arm.len() - "-----END PGP MESSAGE-----\r\n".len();
        let positions = [
            0,
            1,
            5,
            14,
            27,
            28,
            29,
            35,
            mid - 70,
            mid - 1,
            mid,
            mid + 1,
            crc_line - 1,
            crc_line,
            crc_line + 1,
            crc_line + 5,
            end_line,
            end_line + 10,
            arm.len() - 2,
            arm.len() - 1,
            arm.len(),
        ];
        let mut refused = 0;
        for &at in &positions {
            for c in 0u8..=127 {
                let mut m = arm.clone();
                m.insert(at, c);
                match dearmor(&m) {
                    Ok(d) => assert_eq!(d, bin, "{c:#04x} at {at} changed the data"),
                    Err(Error::Message(_)) => refused += 1,
                    Err(e) => panic!("{c:#04x} at {at}: {e}"),
                }
                // Replacing instead of inserting, too. Replacing the `=` that marks the CRC
                // line turns the checksum into data: nothing can tell, so only no panic there.
                if at < arm.len() {
                    let mut m = arm.clone();
                    m[at] = c;
                    if let Ok(d) = dearmor(&m)
                        && at != crc_line
                    {
                        assert_eq!(d, bin, "{c:#04x} replacing at {at} changed the data");
                    }
                }
            }
        }
        assert!(refused > positions.len() * 64, "{refused}");
        // And every truncation.
        for n in 0..arm.len() {
            let _ = dearmor(&arm[..n]);
        }
    }

    #[test]
    fn check_framing_accepts_whole_messages_and_refuses_truncated_ones() {
        let bin = encrypted_to_bob();
        check_framing(&bin).unwrap();
        let mut ok = 0;
        for n in 0..bin.len() {
            match check_framing(&bin[..n]) {
                Ok(()) => ok += 1,
                Err(Error::Message(m)) => assert!(m.contains("OpenPGP"), "{m}"),
                Err(e) => panic!("{n}: {e}"),
            }
        }
        // Only the cut right after the PKESK packet is well framed.
        assert_eq!(ok, 1);
        assert!(check_framing(&[0x00]).is_err());
        assert!(check_framing(&[0xc0, 0x00]).is_err());
        // A SEIPD v1 with 39 octets of ciphertext: complete, but too short.
        let mut short = vec![0xd2, 40, 1];
        short.extend([0u8; 39]);
        assert!(check_framing(&short).is_err());
        short[1] = 41;
        short.push(0);
        check_framing(&short).unwrap();
        // Partial body lengths, and a legacy-format packet running to the end.
        let mut partial = vec![0xd2, 0xe9];
        partial.extend(std::iter::once(1).chain([0u8; 511]));
        partial.extend([0x05, 1, 2, 3, 4, 5]);
        check_framing(&partial).unwrap();
        assert!(check_framing(&partial[..partial.len() - 1]).is_err());
        assert!(check_framing(&[0xcb, 5, b'b', 0, 0]).is_err());
        check_framing(&[0xa8, 3, b'P', b'G', b'P']).unwrap();
        check_framing(&[0xaf, b'b', 0, 0, 0, 0, 0]).unwrap();
        assert!(check_framing(&[0xa9, 0, 3, b'P']).is_err());
    }

    /// The panic this module exists for: Sequoia panics on an encrypted message cut in the
    /// SEIPD v1 quick-check window; every cut `check_framing` lets through decrypts without one.
    #[test]
    fn framing_check_keeps_sequoia_from_panicking_on_truncation() {
        let bob = key("bob.key");
        let bin = encrypted_to_bob();
        assert_eq!(sequoia_decrypt(&bin, &bob), Ok(true));
        let mut panics = 0;
        for n in 1..bin.len() {
            let cut = &bin[..n];
            let r = sequoia_decrypt(cut, &bob);
            if r.is_err() {
                panics += 1;
                assert!(check_framing(cut).is_err(), "{n}: {r:?}");
            }
            if check_framing(cut).is_ok() {
                assert!(r.is_ok(), "{n}: {r:?}");
            }
        }
        // If this fails, Sequoia no longer panics on truncation: the check is belt and braces.
        assert!(
            panics > 0,
            "sequoia-openpgp no longer panics on truncated SEIPD v1"
        );
        // The reported case: a `*` in the armor. Sequoia's armor reader truncates silently and
        // the parser panics; dearmor refuses it first.
        let arm = armored(&bin);
        let begin = arm.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let crc = arm.windows(3).position(|w| w == b"\r\n=").unwrap();
        let mut star_panics = 0;
        for at in begin..crc {
            let mut m = arm.clone();
            m.insert(at, b'*');
            if sequoia_decrypt(&m, &bob).is_err() {
                star_panics += 1;
            }
            let e = err(dearmor(&m));
            assert!(e.contains("is not base64"), "{at}: {e}");
        }
        assert!(
            star_panics > 0,
            "sequoia-openpgp no longer panics on a '*' in the armor"
        );
    }

    /// `data` fed to a [`Dearmor`] in pieces of `size` octets.
    fn dearmor_in_pieces(data: &[u8], size: usize) -> Result<Vec<u8>> {
        let mut d = Dearmor::new();
        let mut out = Vec::new();
        for piece in data.chunks(size) {
            d.feed(piece, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    /// `data` fed to a [`Framing`] in pieces of `size` octets.
    fn framing_in_pieces(data: &[u8], size: usize) -> Result<()> {
        let mut f = Framing::default();
        for piece in data.chunks(size) {
            f.feed(piece)?;
        }
        f.finish()
    }

    fn same(a: &Result<Vec<u8>>, b: &Result<Vec<u8>>) -> bool {
        match (a, b) {
            (Ok(x), Ok(y)) => x == y,
            (Err(x), Err(y)) => x.to_string() == y.to_string(),
            _ => false,
        }
    }

    /// The verdict and the message do not depend on how the input is cut: a streamed message
    /// is judged as the whole one is.
    #[test]
    fn dearmor_in_pieces_judges_as_whole() {
        let bin = encrypted_to_bob();
        let arm = armored(&bin);
        let lf = String::from_utf8(arm.clone())
            .unwrap()
            .replace("\r\n", "\n")
            .into_bytes();
        let mut cases = vec![arm.clone(), lf.clone()];
        let mid = body_middle(&arm);
        for at in [
            0,
            5,
            20,
            31,
            40,
            mid,
            arm.len() - 30,
            arm.len() - 8,
            arm.len() - 1,
        ] {
            for c in [b'*', b'=', b'\r', b'\n', b'-', b' ', b':', 0u8] {
                let mut m = arm.clone();
                m.insert(at, c);
                cases.push(m.clone());
                m.remove(at);
                m[at] = c;
                cases.push(m);
            }
        }
        for n in [1, arm.len() / 2, arm.len() - 3] {
            cases.push(arm[..n].to_vec());
        }
        for case in &cases {
            let whole = dearmor(case);
            if case.first().is_some_and(|b| b & 0x80 != 0) {
                continue;
            }
            for size in [1, 2, 3, 7, 64, 1000] {
                let cut = dearmor_in_pieces(case, size);
                assert!(same(&whole, &cut), "{size}: {whole:?} vs {cut:?}");
            }
        }
    }

    #[test]
    fn long_lines_are_decoded_as_they_come_or_refused() {
        let bin: Vec<u8> = (0..30_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let b64 = B64.encode(&bin);
        let one_line = format!("-----BEGIN PGP MESSAGE-----\n\n{b64}\n-----END PGP MESSAGE-----\n");
        assert!(b64.len() > LINE_CAP);
        for size in [1, 100, 5000, one_line.len()] {
            assert_eq!(dearmor_in_pieces(one_line.as_bytes(), size).unwrap(), bin);
        }
        // A base64 line past the cap with a CR inside it, or a star, is refused all the same.
        for bad_octet in [b'\r', b'*'] {
            let mut m = one_line.clone().into_bytes();
            m[29 + LINE_CAP + 10] = bad_octet;
            let e = err(dearmor_in_pieces(&m, 100));
            assert!(
                e.contains("armor line 3") && e.contains("is not base64"),
                "{e}"
            );
            assert_eq!(e, err(dearmor(&m)));
        }
        // Trailing blanks of any length are trailing blanks, on every kind of line.
        let blanks = " \t".repeat(LINE_CAP);
        let padded = format!(
            "{blanks}\n-----BEGIN PGP MESSAGE-----{blanks}\nComment: x{blanks}\n{blanks}\n\
             {b64}{blanks}\r\n-----END PGP MESSAGE-----{blanks}\n{blanks}"
        );
        for size in [7, 4097, padded.len()] {
            assert_eq!(dearmor_in_pieces(padded.as_bytes(), size).unwrap(), bin);
        }
        // Blanks inside a BEGIN, header or END line past the cap: refused, not squeezed.
        let begin =
            format!("-----BEGIN PGP{blanks}MESSAGE-----\n\n{b64}\n-----END PGP MESSAGE-----\n");
        let header = format!(
            "-----BEGIN PGP MESSAGE-----\nComment: a{blanks}b\n\n{b64}\n-----END PGP MESSAGE-----\n"
        );
        let end =
            format!("-----BEGIN PGP MESSAGE-----\n\n{b64}\n-----END{blanks}PGP MESSAGE-----\n");
        for (m, want) in [
            (begin, "line 1: not an ASCII armor BEGIN line"),
            (header, "line 2: armor header longer than"),
            (end, "line 4: expected -----END PGP MESSAGE-----"),
        ] {
            for size in [100, m.len()] {
                let e = err(dearmor_in_pieces(m.as_bytes(), size));
                assert!(e.contains(want), "{size}: {e}");
            }
        }
    }

    #[test]
    fn framing_in_pieces_judges_as_whole() {
        let bin = encrypted_to_bob();
        let mut partial = vec![0xcb, 0xe1, b'b', 0];
        partial.extend_from_slice(&[0xc4, 0xe0, 1, 2, 0xe1, 3, 4]);
        partial.extend_from_slice(&[0x02, 5, 6]);
        let mut cases: Vec<Vec<u8>> = (0..=bin.len()).map(|n| bin[..n].to_vec()).collect();
        cases.extend((0..=partial.len()).map(|n| partial[..n].to_vec()));
        cases.push(vec![0xa9, 0, 3, b'P']);
        cases.push(vec![0xd2, 0]);
        cases.push(vec![0xc0, 0]);
        for case in &cases {
            let whole = check_framing(case).map_err(|e| e.to_string());
            for size in [1, 2, 5, 100] {
                let cut = framing_in_pieces(case, size).map_err(|e| e.to_string());
                assert_eq!(whole, cut, "{case:?} in pieces of {size}");
            }
        }
    }

    /// What Sequoia's `Armorer` writes for `data` (its armor writer, no header), CRLF.
    fn sequoia_armor(data: &[u8], crc: bool) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), Kind::Message).unwrap();
        if !crc {
            w.set_profile(openpgp::Profile::RFC9580).unwrap();
        }
        w.write_all(data).unwrap();
        let out = w.finalize().unwrap();
        String::from_utf8(out)
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes()
    }

    /// [`Armor`] of `data` written in pieces of `size` octets.
    fn armor_in_pieces(data: &[u8], size: usize, crc: bool) -> Vec<u8> {
        let mut a = Armor::new(Vec::new(), crc);
        for piece in data.chunks(size.max(1)) {
            a.write_all(piece).unwrap();
        }
        a.finish().unwrap()
    }

    #[test]
    fn armor_writes_what_sequoia_writes_for_every_length_and_split() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
        // Around the 48-octet line and the 3-octet group, and longer than a buffer.
        let mut lengths: Vec<usize> = (1..=100).collect();
        lengths.extend([143, 144, 145, 191, 192, 193, 1000, 1999, 2000]);
        for len in lengths {
            let data = &data[..len];
            for crc in [true, false] {
                let want = sequoia_armor(data, crc);
                for size in [1, 2, 3, 4, 5, 7, 47, 48, 49, 100, len] {
                    let got = armor_in_pieces(data, size, crc);
                    assert!(got == want, "{len} octets in pieces of {size}, crc {crc}");
                }
                // Our strict reader and Sequoia's read it back.
                assert_eq!(dearmor(&want).unwrap(), data, "{len}");
                let mut r = openpgp::armor::Reader::from_bytes(
                    &want,
                    openpgp::armor::ReaderMode::Tolerant(Some(Kind::Message)),
                );
                let mut back = Vec::new();
                r.read_to_end(&mut back).unwrap();
                assert_eq!(back, data, "{len}");
            }
        }
        // Nothing written, nothing out (as Sequoia's writer).
        assert!(Armor::new(Vec::new(), true).finish().unwrap().is_empty());
        assert!(sequoia_armor(b"", true).is_empty());
    }

    #[test]
    fn armor_of_a_large_write_is_the_same_in_any_pieces() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 131 % 251) as u8).collect();
        let want = sequoia_armor(&data, true);
        for size in [1 << 20, 65_536, 4095, 3] {
            assert!(armor_in_pieces(&data, size, true) == want, "{size}");
        }
        let mut d = Dearmor::new();
        let mut out = Vec::new();
        d.feed(&want, &mut out).unwrap();
        d.finish(&mut out).unwrap();
        assert!(out == data);
        // Every line is at most 64 characters and ends in CRLF.
        let text = std::str::from_utf8(&want).unwrap();
        assert!(text.ends_with("-----END PGP MESSAGE-----\r\n"));
        assert!(
            text.split("\r\n")
                .all(|l| l.len() <= 64 && !l.contains('\n'))
        );
    }
}
