//! Every record parser on arbitrary bytes: the first byte picks the format (and, for
//! the formats with a header, the header is put in front), the rest is the file.
//! `read = accepted + rejected + duplicates` must hold; any panic is a bug.
#![no_main]

use dataflows::model::Settings;
use interestflow::input::{read_all, Format, InputOptions};
use libfuzzer_sys::fuzz_target;

const FORMATS: [(Format, &str); 8] = [
    (Format::Auto, ""),
    (Format::Taobao, ""),
    (Format::Native, "ts,user,item,action,category,price,quantity,session\n"),
    (Format::Jsonl, ""),
    (
        Format::Rees46,
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n",
    ),
    (Format::Retailrocket, "timestamp,visitorid,event,itemid,transactionid\n"),
    (Format::Movielens, "userId,movieId,rating,timestamp\n"),
    (Format::Movielens, "1\t2\t3\t4\n"),
];

fuzz_target!(|data: &[u8]| {
    let Some((pick, body)) = data.split_first() else {
        return;
    };
    let (format, header) = FORMATS[*pick as usize % FORMATS.len()];
    let mut input = header.as_bytes().to_vec();
    input.extend_from_slice(body);
    let mut opts = InputOptions::default();
    opts.schema.format = Some(format);
    if let Ok(acc) = read_all(&Settings::default(), &opts, input) {
        assert_eq!(
            acc.read,
            acc.accepted + acc.rejected_total() + acc.duplicates
        );
        assert!(acc.read <= body.len() as u64 + 2);
    }
});
