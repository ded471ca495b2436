//! `lshwres`, `lssyscfg` and `lslparmigr` output: one record per line, comma-separated
//! `key=value` pairs, or with `-F` the values alone in the order asked (`--header` first names
//! them); a value holding commas is wrapped in double quotes (`"addl_vlan_ids=10,11"`), a
//! double quote inside it doubled. Lines are split by the `csv` crate.

use std::collections::BTreeMap;

use powerplane_model::{DeviceName, MemoryMb, PartitionName, ViosName, VlanId};

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A quote opened and never closed.
    #[error("line {line}: unterminated quote starting at column {column}")]
    UnterminatedQuote {
        /// 1-based line.
        line: usize,
        /// 1-based column of the opening quote.
        column: usize,
    },
    /// A field without `=`.
    #[error("line {line}: field {field:?} is not key=value")]
    NotKeyValue {
        /// 1-based line.
        line: usize,
        /// The field.
        field: String,
    },
    /// The reader could not read the line.
    #[error("line {line}: {message}")]
    Csv {
        /// 1-based line.
        line: usize,
        /// What the reader said.
        message: String,
    },
    /// A `-F` line with more or fewer values than fields asked for.
    #[error("line {line}: {found} values where -F asked for {expected}")]
    Width {
        /// 1-based line.
        line: usize,
        /// Values found.
        found: usize,
        /// Fields asked for.
        expected: usize,
    },
    /// A `--header` line that does not name the fields asked for.
    #[error("line {line}: header {found:?} is not the fields asked for ({expected})")]
    Header {
        /// 1-based line.
        line: usize,
        /// The header line.
        found: String,
        /// The fields.
        expected: String,
    },
    /// A field the typed record needs is missing or malformed.
    #[error("{record}: field `{key}` {problem}")]
    Field {
        /// The record type.
        record: &'static str,
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// One record: keys to values, in key order.
pub type Record = BTreeMap<String, String>;

/// Splits one line into its comma-separated values with the `csv` crates' reader: a value
/// holding commas is wrapped in double quotes, a double quote inside it doubled.
fn split(text: &str, line: usize) -> Result<Vec<String>, ParseError> {
    // An odd number of quotes is a quote opened and never closed (the csv reader would take
    // the rest of the line into the value).
    if text.matches('"').count() % 2 == 1 {
        let column = text
            .char_indices()
            .find(|(i, c)| *c == '"' && text[*i..].matches('"').count() % 2 == 1)
            .map_or(1, |(i, _)| i + 1);
        return Err(ParseError::UnterminatedQuote { line, column });
    }
    // One reader per thread: building one (its DFA) costs far more than reading a line.
    thread_local! {
        static READER: std::cell::RefCell<csv_core::Reader> = std::cell::RefCell::new(csv_core::Reader::new());
    }
    READER.with(|r| {
        let mut r = r.borrow_mut();
        r.reset();
        let mut out = vec![0u8; text.len() + 1];
        let mut ends = vec![0usize; text.len() + 2];
        let (mut input, mut nout, mut nend) = (text.as_bytes(), 0, 0);
        loop {
            let (res, nin, o, e) = r.read_record(input, &mut out[nout..], &mut ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match res {
                csv_core::ReadRecordResult::InputEmpty => continue,
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
                csv_core::ReadRecordResult::OutputFull | csv_core::ReadRecordResult::OutputEndsFull => {
                    return Err(ParseError::Csv { line, message: "a field longer than its line".into() });
                }
            }
        }
        let mut fields = Vec::with_capacity(nend);
        let mut start = 0;
        for &end in &ends[..nend] {
            // Nested ends are offsets into `out`; the reader copies UTF-8 through unchanged.
            let f =
                std::str::from_utf8(&out[start..end]).map_err(|e| ParseError::Csv { line, message: e.to_string() })?;
            fields.push(f.to_owned());
            start = end;
        }
        Ok(fields)
    })
}

/// Parses one `key=value,...` line (the `line` number is for messages).
pub fn parse_line(text: &str, line: usize) -> Result<Record, ParseError> {
    let mut rec = Record::new();
    for f in split(text, line)?.into_iter().filter(|f| !f.trim().is_empty()) {
        let (k, v) = f.split_once('=').ok_or_else(|| ParseError::NotKeyValue { line, field: f.clone() })?;
        rec.insert(k.trim().to_owned(), v.to_owned());
    }
    Ok(rec)
}

/// Parses a whole command output, one record per non-empty line.
pub fn parse_output(text: &str) -> Result<Vec<Record>, ParseError> {
    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| parse_line(l, i + 1)).collect()
}

/// Parses the output of a listing run with `-F f1,f2,...`: the values of each line in that
/// order. With `header`, the first line (`--header`) names the fields and must match.
pub fn parse_fields(text: &str, fields: &[&str], header: bool) -> Result<Vec<Record>, ParseError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    if header && let Some((i, l)) = lines.next() {
        let names = split(l, i + 1)?;
        if names.iter().map(String::as_str).ne(fields.iter().copied()) {
            return Err(ParseError::Header { line: i + 1, found: l.to_owned(), expected: fields.join(",") });
        }
    }
    lines
        .map(|(i, l)| {
            let values = split(l, i + 1)?;
            if values.len() != fields.len() {
                return Err(ParseError::Width { line: i + 1, found: values.len(), expected: fields.len() });
            }
            Ok(fields.iter().map(|f| (*f).to_owned()).zip(values).collect())
        })
        .collect()
}

/// One line of output as the HMC prints it: each value (or `key=value` pair) quoted when it
/// holds a comma or a quote, quotes doubled. The inverse of [`parse_line`] and
/// [`parse_fields`].
pub fn render_line<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut w =
        csv::WriterBuilder::new().has_headers(false).terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let values: Vec<&str> = values.into_iter().collect();
    // A record of one empty value would be written as `""`; the HMC prints an empty line.
    if values.iter().all(|v| v.is_empty()) {
        return ",".repeat(values.len().saturating_sub(1));
    }
    w.write_record(&values).expect("writing to memory");
    let mut out = String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out");
    out.pop();
    out
}

fn field<'a>(r: &'a Record, record: &'static str, key: &str) -> Result<&'a str, ParseError> {
    r.get(key).map(String::as_str).ok_or_else(|| ParseError::Field {
        record,
        key: key.to_owned(),
        problem: "is missing".into(),
    })
}

fn number<T: std::str::FromStr>(r: &Record, record: &'static str, key: &str) -> Result<T, ParseError> {
    let v = field(r, record, key)?;
    v.parse().map_err(|_| ParseError::Field { record, key: key.to_owned(), problem: format!("is {v:?}, not a number") })
}

fn name<T>(
    r: &Record,
    record: &'static str,
    key: &str,
    make: impl Fn(String) -> Result<T, powerplane_model::NameError>,
) -> Result<T, ParseError> {
    make(field(r, record, key)?.to_owned()).map_err(|e| ParseError::Field {
        record,
        key: key.to_owned(),
        problem: e.to_string(),
    })
}

fn vlans(r: &Record, record: &'static str, key: &str) -> Result<Vec<VlanId>, ParseError> {
    let v = r.get(key).map(String::as_str).unwrap_or("");
    v.split(',')
        .filter(|s| !s.is_empty() && *s != "none")
        .map(|s| {
            s.parse::<u16>().ok().and_then(|n| VlanId::new(n).ok()).ok_or_else(|| ParseError::Field {
                record,
                key: key.to_owned(),
                problem: format!("has {s:?}, not a VLAN id"),
            })
        })
        .collect()
}

/// A virtual ethernet adapter (`lshwres -r virtualio --rsubtype eth --level lpar`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualEthRecord {
    /// The partition (a VIOS for trunk adapters).
    pub lpar_name: String,
    /// Its id.
    pub lpar_id: u32,
    /// The adapter's virtual slot.
    pub slot_num: u32,
    /// Whether it is a trunk (bridging) adapter.
    pub is_trunk: bool,
    /// Trunk priority (1 primary, 2 backup), for trunks.
    pub trunk_priority: Option<u8>,
    /// Whether it is IEEE 802.1Q capable.
    pub ieee_virtual_eth: bool,
    /// Port VLAN id.
    pub port_vlan_id: VlanId,
    /// Additional VLAN ids.
    pub addl_vlan_ids: Vec<VlanId>,
    /// The virtual switch.
    pub vswitch: String,
}

impl TryFrom<&Record> for VirtualEthRecord {
    type Error = ParseError;
    fn try_from(r: &Record) -> Result<Self, ParseError> {
        const R: &str = "virtual ethernet adapter";
        let pvid: u16 = number(r, R, "port_vlan_id")?;
        Ok(VirtualEthRecord {
            lpar_name: field(r, R, "lpar_name")?.to_owned(),
            lpar_id: number(r, R, "lpar_id")?,
            slot_num: number(r, R, "slot_num")?,
            is_trunk: field(r, R, "is_trunk")? == "1",
            trunk_priority: r.get("trunk_priority").map(|v| v.parse()).transpose().map_err(|_| ParseError::Field {
                record: R,
                key: "trunk_priority".into(),
                problem: "is not a number".into(),
            })?,
            ieee_virtual_eth: r.get("ieee_virtual_eth").is_some_and(|v| v == "1"),
            port_vlan_id: VlanId::new(pvid).map_err(|e| ParseError::Field {
                record: R,
                key: "port_vlan_id".into(),
                problem: e,
            })?,
            addl_vlan_ids: vlans(r, R, "addl_vlan_ids")?,
            vswitch: r.get("vswitch").cloned().unwrap_or_default(),
        })
    }
}

/// A paging space device (`lshwres -r mempool --rsubtype pgdev`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingDeviceRecord {
    /// The device on the first paging VIOS.
    pub device_name: DeviceName,
    /// That paging VIOS.
    pub paging_vios_name: ViosName,
    /// Its size.
    pub size: MemoryMb,
    /// `Active` or `Inactive`.
    pub state: String,
    /// Seen through both paging VIOS.
    pub is_redundant: bool,
    /// The second paging VIOS, for a redundant device.
    pub redundant_paging_vios_name: Option<ViosName>,
    /// The partition it serves.
    pub lpar_name: Option<PartitionName>,
}

impl TryFrom<&Record> for PagingDeviceRecord {
    type Error = ParseError;
    fn try_from(r: &Record) -> Result<Self, ParseError> {
        const R: &str = "paging device";
        let opt = |key: &str| r.get(key).filter(|v| !v.is_empty() && *v != "none");
        Ok(PagingDeviceRecord {
            device_name: name(r, R, "device_name", DeviceName::new)?,
            paging_vios_name: name(r, R, "paging_vios_name", ViosName::new)?,
            size: MemoryMb(number(r, R, "size")?),
            state: field(r, R, "state")?.to_owned(),
            is_redundant: r.get("is_redundant").is_some_and(|v| v == "1"),
            redundant_paging_vios_name: opt("redundant_paging_vios_name")
                .map(|v| ViosName::new(v.clone()))
                .transpose()
                .map_err(|e| ParseError::Field {
                    record: R,
                    key: "redundant_paging_vios_name".into(),
                    problem: e.to_string(),
                })?,
            lpar_name: opt("lpar_name")
                .map(|v| PartitionName::new(v.clone()))
                .transpose()
                .map_err(|e| ParseError::Field { record: R, key: "lpar_name".into(), problem: e.to_string() })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, the `lshwres -r
    // virtualio --rsubtype eth -m p72 --level lpar` listing.
    const P72VIO1: &str = r#"lpar_name=p72vio1,lpar_id=1,slot_num=2,state=1,is_required=0,is_trunk=1,trunk_priority=1,ieee_virtual_eth=1,port_vlan_id=1,vswitch=ETHERNET0,"addl_vlan_ids=10,11",mac_addr=761FA3934802,allowed_os_mac_addrs=all,qos_priority=none
lpar_name=p72vio1,lpar_id=1,slot_num=3,state=1,is_required=0,is_trunk=1,trunk_priority=1,ieee_virtual_eth=1,port_vlan_id=2,vswitch=ETHERNET0,"addl_vlan_ids=12,13",mac_addr=761FA3934803,allowed_os_mac_addrs=all,qos_priority=none
lpar_name=p72vio1,lpar_id=1,slot_num=4,state=1,is_required=0,is_trunk=0,ieee_virtual_eth=0,port_vlan_id=99,vswitch=ETHERNET0,addl_vlan_ids=,mac_addr=761FA3934804,allowed_os_mac_addrs=all,qos_priority=none
"#;

    #[test]
    fn reads_the_seed_virtual_ethernet_listing() {
        let recs = parse_output(P72VIO1).unwrap();
        assert_eq!(recs.len(), 3);
        let eth: Vec<VirtualEthRecord> = recs.iter().map(|r| r.try_into().unwrap()).collect();
        assert_eq!(eth[0].addl_vlan_ids, vec![VlanId::new(10).unwrap(), VlanId::new(11).unwrap()]);
        assert_eq!(eth[1].port_vlan_id, VlanId::new(2).unwrap());
        assert!(eth[0].is_trunk && eth[0].trunk_priority == Some(1));
        assert!(!eth[2].is_trunk && eth[2].addl_vlan_ids.is_empty() && eth[2].trunk_priority.is_none());
        assert_eq!(eth[2].slot_num, 4);
    }

    // seeds: ams-dual-vios-and-lpm.txt, Listing 1 (joined back into one record).
    #[test]
    fn reads_the_seed_paging_device_listing() {
        let line = "device_name=hdisk17,paging_vios_name=lpar_1_solchio05,paging_vios_id=1,size=40960,type=phys,state=Inactive,phys_loc=U789D.001.DQD21L0-P1-C1-T1-W5005076801203E85-L1B000000000000,is_redundant=1,redundant_device_name=hdisk17,redundant_paging_vios_name=lpar_2_solchio06,redundant_paging_vios_id=2,redundant_state=Active,redundant_phys_loc=U789D.001.DQD21L0-P1-C2-T1-W5005076801403E85-L1B000000000000,lpar_name=lpar_6_sotchax11";
        let r = parse_line(line, 1).unwrap();
        let d = PagingDeviceRecord::try_from(&r).unwrap();
        assert_eq!(d.device_name.as_str(), "hdisk17");
        assert_eq!(d.size, MemoryMb(40960));
        assert!(d.is_redundant);
        assert_eq!(d.redundant_paging_vios_name.unwrap().as_str(), "lpar_2_solchio06");
        assert_eq!(d.lpar_name.unwrap().as_str(), "lpar_6_sotchax11");
    }

    #[test]
    fn doubled_quotes_and_errors() {
        let r = parse_line(r#"name=a,"description=say ""hi"", twice",x=1"#, 1).unwrap();
        assert_eq!(r["description"], r#"say "hi", twice"#);
        assert_eq!(r["x"], "1");
        assert_eq!(parse_line(r#"a=1,"b=2,3"#, 7), Err(ParseError::UnterminatedQuote { line: 7, column: 5 }));
        assert!(matches!(parse_line("a=1,oops", 2), Err(ParseError::NotKeyValue { line: 2, .. })));
        let r = parse_line("lpar_name=x,lpar_id=one,slot_num=2,is_trunk=0,port_vlan_id=1", 1).unwrap();
        let e = VirtualEthRecord::try_from(&r).unwrap_err();
        assert!(e.to_string().contains("lpar_id"), "{e}");
    }
}
