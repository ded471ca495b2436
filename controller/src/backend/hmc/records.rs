//! `lshwres` and `lssyscfg` output: one record per line, comma-separated `key=value` pairs; a
//! pair whose value holds commas is wrapped in double quotes (`"addl_vlan_ids=10,11"`), and a
//! double quote inside a quoted pair is doubled.

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

/// Parses one line (the `line` number is for messages).
pub fn parse_line(text: &str, line: usize) -> Result<Record, ParseError> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = text.char_indices().peekable();
    let mut quoted = false;
    let mut quote_col = 0;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if !quoted && cur.is_empty() => {
                quoted = true;
                quote_col = i + 1;
            }
            '"' if quoted => {
                if chars.peek().map(|(_, n)| *n) == Some('"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err(ParseError::UnterminatedQuote { line, column: quote_col });
    }
    fields.push(cur);
    let mut rec = Record::new();
    for f in fields.into_iter().filter(|f| !f.trim().is_empty()) {
        let (k, v) = f.split_once('=').ok_or_else(|| ParseError::NotKeyValue { line, field: f.clone() })?;
        rec.insert(k.trim().to_owned(), v.to_owned());
    }
    Ok(rec)
}

/// Parses a whole command output, one record per non-empty line.
pub fn parse_output(text: &str) -> Result<Vec<Record>, ParseError> {
    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| parse_line(l, i + 1)).collect()
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
