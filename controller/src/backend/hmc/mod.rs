//! The first parts of a real HMC backend: reading `lshwres` / `lssyscfg` output. (Rendering
//! commands is the model's `Op::command`.)

mod records;

pub use records::{PagingDeviceRecord, ParseError, Record, VirtualEthRecord, parse_line, parse_output};
