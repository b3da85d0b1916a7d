//! The input formats on the real files in `../shared/data/`: the accounting identity
//! on every one, the presets and the mapping, compression, stdin, sorting, the item
//! catalogue, one-line errors, and garbled input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use dataflows::model::{key_of, Action, Arrival, Settings};
use interestflow::input::{
    read_all, Accounting, ActionTable, ColumnMap, Format, Ingest, InputOptions, Origin, SortMode, TsUnit,
};
use proptest::prelude::*;

use crate::cli::{bin, one_line_error};

/// `$CARGO_MANIFEST_DIR/../shared/data`; a missing folder fails the test, loudly.
pub fn data(rel: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        dir.is_dir(),
        "{}: the shared data folder is missing; these tests need the real files \
         (a clone must have shared/ beside the project)",
        dir.display()
    );
    let path = dir.join(rel);
    assert!(path.is_file(), "{}: missing from shared/data", path.display());
    path
}

const TAOBAO_SLICE: &str = "taobao_userbehavior/UserBehavior_time-slice_110k.csv";
const TAOBAO_PREFIX: &str = "taobao_userbehavior/UserBehavior_user-prefix_84k.csv";
const REES46: &str = "rees46_multicategory/2019-Oct_head_17k.csv";
const ML_100K: &str = "movielens_ml-100k/u.data";
const ML_SMALL: &str = "movielens_ml-latest-small/ratings.csv";
const ITEMS: &str = "retailrocket/item_category.csv";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn opts(format: Format) -> InputOptions {
    let mut o = InputOptions::default();
    o.schema.format = Some(format);
    o
}

fn drain_origins(o: &InputOptions, origins: Vec<Origin>) -> (Accounting, Vec<Arrival>) {
    let settings = Settings::default();
    let mut ingest = Ingest::open_with(&settings, o, origins, None).expect("the input opens");
    let mut all = Vec::new();
    while let Some(batch) = ingest.next_batch(10_000).expect("the input reads") {
        all.extend(batch);
    }
    let acc = ingest.accounting().clone();
    assert_eq!(
        acc.read,
        acc.accepted + acc.rejected_total() + acc.duplicates,
        "read = accepted + rejected + duplicates: {acc:?}"
    );
    assert_eq!(acc.accepted, all.len() as u64, "every accepted event is handed on");
    (acc, all)
}

fn drain(o: &InputOptions, files: &[PathBuf]) -> (Accounting, Vec<Arrival>) {
    drain_origins(o, files.iter().cloned().map(Origin::Path).collect())
}

fn summary(acc: &Accounting) -> (u64, u64, Vec<(String, u64)>, u64, u64) {
    let rejected = acc.rejected.iter().map(|(r, n)| (r.clone(), *n)).collect();
    (acc.read, acc.accepted, rejected, acc.duplicates, acc.late)
}

fn rej(reason: &str, n: u64) -> Vec<(String, u64)> {
    vec![(reason.to_string(), n)]
}

#[test]
fn every_real_file_accounts_for_every_record() {
    let cases = [
        (TAOBAO_SLICE, (110_300, 110_300, vec![], 0, 0)),
        // The truncated last row has no timestamp; sorted by default, so nothing is late.
        (TAOBAO_PREFIX, (84_476, 84_475, rej("parse", 1), 0, 0)),
        // Truncated last row; 6 repeats of (ts, user, item, action), 5 of them whole rows.
        (REES46, (17_435, 17_428, rej("parse", 1), 6, 0)),
        (ML_100K, (100_000, 100_000, vec![], 0, 0)),
        (ML_SMALL, (100_836, 100_836, vec![], 0, 0)),
    ];
    for (file, want) in cases {
        let (acc, arrivals) = drain(&opts(Format::Auto), &[data(file)]);
        assert_eq!(summary(&acc), want, "{file}");
        assert!(arrivals.windows(2).all(|w| w[0].at <= w[1].at), "{file}: arrivals in time order");
    }
}

#[test]
fn auto_recognises_each_preset() {
    let cases = [
        (TAOBAO_SLICE, Format::Taobao),
        (TAOBAO_PREFIX, Format::Taobao),
        (REES46, Format::Rees46),
        (ML_100K, Format::Movielens),
        (ML_SMALL, Format::Movielens),
    ];
    for (file, format) in cases {
        let auto = drain(&opts(Format::Auto), &[data(file)]);
        let named = drain(&opts(format), &[data(file)]);
        assert_eq!(summary(&auto.0), summary(&named.0), "{file}");
        assert!(auto.1 == named.1, "{file}: the same events");
    }
}

#[test]
fn presets_read_their_fields() {
    let (_, rees) = drain(&opts(Format::Auto), &[data(REES46)]);
    // 2019-10-01 00:00:00 UTC, view, product 44600062, category 2103807459595387724, user 541312140.
    let first = rees[0].event;
    assert_eq!(first.tick, 1_569_888_000_000);
    assert_eq!((first.user, first.item), (541_312_140, 44_600_062));
    assert_eq!(first.category, Some(2_103_807_459_595_387_724));
    assert_eq!(first.action, Action::View);
    let (_, ml) = drain(&opts(Format::Auto), &[data(ML_SMALL)]);
    // Sorted by time: the earliest rating, 1996-03-29 18:36:55 UTC.
    assert_eq!(ml[0].event.tick, 828_124_615_000);
    assert!(ml.iter().any(|a| a.event.action == Action::Rating(7)), "3.5 stars");
    let (_, udata) = drain(&opts(Format::Auto), &[data(ML_100K)]);
    assert!(udata.iter().all(|a| matches!(a.event.action, Action::Rating(h) if h % 2 == 0)));
}

#[test]
fn unsorted_files_are_sorted_by_default_and_late_otherwise() {
    for file in [TAOBAO_PREFIX, ML_100K, ML_SMALL] {
        let mut o = opts(Format::Auto);
        o.sort = SortMode::No;
        let (acc, _) = drain(&o, &[data(file)]);
        assert!(acc.late > 10_000, "{file}: unsorted, many events are late");
    }
    // Ties keep file order, across files too.
    let dir = tempdir("sort");
    let a = dir.join("a.data");
    let b = dir.join("b.data");
    std::fs::write(&a, "1\t10\t4\t900\n2\t20\t4\t800\n3\t30\t4\t900\n").expect("write");
    std::fs::write(&b, "4\t40\t4\t800\n").expect("write");
    let (acc, arrivals) = drain(&opts(Format::Movielens), &[a, b]);
    assert_eq!(acc.late, 0);
    let users: Vec<u64> = arrivals.iter().map(|a| a.event.user).collect();
    assert_eq!(users, [2, 4, 1, 3]);
}

#[test]
fn retailrocket_with_the_item_catalogue() {
    let mut o = opts(Format::Auto);
    o.items = Some(data(ITEMS));
    let (acc, arrivals) = drain(&o, &[fixture("retailrocket_events.csv")]);
    let mut rejected = rej("missing_field", 1);
    rejected.extend(rej("parse", 1));
    rejected.extend(rej("unknown_action", 1));
    assert_eq!(summary(&acc), (19, 15, rejected, 1, 0));
    let category = |item: u64| arrivals.iter().find(|a| a.event.item == item).map(|a| a.event.category);
    assert_eq!(category(1), Some(Some(1114)));
    assert_eq!(category(2), Some(Some(1305)));
    assert_eq!(category(355_908), Some(Some(1173)));
    assert_eq!(category(248_676), Some(None), "not in the catalogue");
    let actions: Vec<Action> =
        arrivals.iter().filter(|a| a.event.user == 257_597).map(|a| a.event.action).collect();
    assert_eq!(actions, [Action::View, Action::Cart, Action::Purchase, Action::View]);
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("interestflow-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

#[test]
fn native_json_lines_take_every_time_form() {
    let dir = tempdir("jsonl");
    let ms = dir.join("ms.jsonl");
    let text = dir.join("text.jsonl");
    let secs = dir.join("s.jsonl");
    std::fs::write(
        &ms,
        "{\"ts\":1569888000000,\"user\":\"u1\",\"item\":7,\"action\":\"view\",\"price\":3.5}\n\
         {\"ts\":1569888001500,\"user\":\"u1\",\"item\":8,\"action\":\"rating:4.5\",\"category\":\"c\"}\n",
    )
    .expect("write");
    std::fs::write(
        &text,
        "{\"ts\":\"2019-10-01T00:00:00Z\",\"user\":\"u1\",\"item\":\"7\",\"action\":\"view\"}\n\
         {\"ts\":\"2019-10-01T02:00:01.5+02:00\",\"user\":\"u1\",\"item\":\"8\",\"action\":\"rating:4.5\"}\n\
         {\"ts\":\"2019-02-30T00:00:00Z\",\"user\":\"u1\",\"item\":\"8\",\"action\":\"view\"}\n\
         {\"ts\":1,\"user\":\"u1\",\"item\":\"8\",\"action\":\"view\",\"quantity\":0}\n\
         [1,2]\n",
    )
    .expect("write");
    std::fs::write(&secs, "{\"ts\":1569888000,\"user\":\"u1\",\"item\":7,\"action\":\"view\"}\n")
        .expect("write");
    let (_, a) = drain(&opts(Format::Auto), &[ms]);
    let (acc, b) = drain(&opts(Format::Jsonl), &[text]);
    assert_eq!(acc.rejected.get("parse"), Some(&2), "no 30 February; not an object");
    assert_eq!(acc.rejected.get("bad_quantity"), Some(&1));
    let ticks = |v: &[Arrival]| v.iter().map(|a| a.event.tick).collect::<Vec<_>>();
    assert_eq!(ticks(&a), [1_569_888_000_000, 1_569_888_002_000]);
    assert_eq!(ticks(&a), ticks(&b));
    assert_eq!(a[0].event.user, key_of("u1"));
    assert_eq!(a[1].event.action, Action::Rating(9));
    let mut o = opts(Format::Auto);
    o.schema.ts_unit = Some(TsUnit::S);
    let (_, c) = drain(&o, &[secs]);
    assert_eq!(ticks(&c), [1_569_888_000_000]);
}

#[test]
fn generic_mapping_reads_a_real_log_by_session() {
    // REES46 through the mapping, the session standing for the user.
    let mut o = opts(Format::Auto);
    o.schema.map = Some(
        "ts=event_time,user=user_session,item=product_id,action=event_type,category=category_id,price=price"
            .parse::<ColumnMap>()
            .expect("a mapping"),
    );
    o.schema.actions = Some("remove_from_cart=remove_cart".parse::<ActionTable>().expect("a table"));
    let (acc, arrivals) = drain(&o, &[data(REES46)]);
    // One of the 6 repeats of (ts, user, item, action) has another session.
    assert_eq!(summary(&acc), (17_435, 17_429, rej("parse", 1), 5, 0));
    let first = arrivals[0].event;
    assert_eq!(first.user, key_of("72d76fde-8bb3-4e00-8c23-a032dfed738c"));
    assert_eq!(first.item, 44_600_062);
    // A JSON-lines log with its own names.
    let dir = tempdir("mapjson");
    let log = dir.join("log.jsonl");
    std::fs::write(
        &log,
        "{\"when\":1569888000,\"uid\":\"a\",\"sku\":\"x\",\"type\":\"clicks\"}\n\
         {\"when\":1569888001,\"uid\":\"a\",\"sku\":\"y\",\"type\":\"orders\"}\n\
         {\"when\":1569888002,\"uid\":\"a\",\"sku\":\"y\",\"type\":\"returns\"}\n",
    )
    .expect("write");
    let mut o = opts(Format::Auto);
    o.schema.map = Some("ts=when,user=uid,item=sku,action=type".parse().expect("a mapping"));
    o.schema.actions = Some("clicks=view,carts=cart,orders=purchase".parse().expect("a table"));
    o.schema.ts_unit = Some(TsUnit::S);
    let (acc, arrivals) = drain(&o, &[log]);
    assert_eq!(acc.rejected.get("unknown_action"), Some(&1));
    let actions: Vec<Action> = arrivals.iter().map(|a| a.event.action).collect();
    assert_eq!(actions, [Action::View, Action::Purchase]);
}

#[test]
fn compressed_files_and_several_files_read_like_plain_ones() {
    let plain = data(TAOBAO_PREFIX);
    let bytes = std::fs::read(&plain).expect("read");
    let dir = tempdir("codec");
    let gz = dir.join("prefix.csv.gz");
    let zst = dir.join("prefix.csv.zst");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).expect("gzip");
    std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
    std::fs::write(&zst, zstd::encode_all(&bytes[..], 1).expect("zstd")).expect("write");
    let want = drain(&opts(Format::Auto), std::slice::from_ref(&plain));
    for file in [gz, zst] {
        let got = drain(&opts(Format::Auto), std::slice::from_ref(&file));
        assert_eq!(summary(&got.0), summary(&want.0), "{}", file.display());
        assert!(got.1 == want.1);
    }
    // Two files in one run: the slice, then the prefix; 88 events are in both.
    let (acc, _) = drain(&opts(Format::Auto), &[data(TAOBAO_SLICE), plain]);
    assert_eq!(summary(&acc), (110_300 + 84_476, 110_300 + 84_475 - 88, rej("parse", 1), 88, 0));
}

#[test]
fn stdin_reads_like_a_file() {
    let mut child = bin()
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let bytes = std::fs::read(data(REES46)).expect("read");
    child.stdin.take().expect("stdin").write_all(&bytes).expect("write");
    let out = child.wait_with_output().expect("it ends");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read 17435 = accepted 17428 + rejected 1 + duplicates 6"), "{err}");
}

#[test]
fn a_bad_file_or_format_gives_one_line_naming_it() {
    let dir = tempdir("bad");
    let junk = dir.join("junk.csv");
    std::fs::write(&junk, "hello world\n1,2,3\n").expect("write");
    let junk = junk.to_string_lossy().to_string();
    let taobao = data(TAOBAO_SLICE).to_string_lossy().to_string();
    let out = dir.join("out.jsonl").to_string_lossy().to_string();
    let rejects = dir.join("rejects.jsonl").to_string_lossy().to_string();
    let err = one_line_error(&["run", &junk, "--out", &out, "--rejects", &rejects]);
    assert!(err.contains(&junk) && err.contains("cannot tell the format"), "{err}");
    assert!(!Path::new(&out).exists(), "no output file before the error");
    assert!(!Path::new(&rejects).exists(), "no rejects file before the error");
    let err = one_line_error(&["run", "--format", "rees46", &taobao]);
    assert!(err.contains(&taobao) && err.contains("event_time"), "{err}");
    let err = one_line_error(&["check", "--map", "ts=t,user=u,item=i,action=a", &junk]);
    assert!(err.contains("no column `t`"), "{err}");
    let err = one_line_error(&["check", "--map", "ts=t,user=u"]);
    assert!(err.contains("item="), "{err}");
    let err = one_line_error(&["check", "--ts-unit", "s", &taobao]);
    assert!(err.contains("--ts-unit"), "{err}");
    let err = one_line_error(&["check", "--items", "/no/such/items.csv", &taobao]);
    assert!(err.contains("/no/such/items.csv"), "{err}");
}

/// Lines of bytes biased towards what parsers trip on.
fn garbled() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        Just(b','),
        Just(b'\t'),
        Just(b'"'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'{'),
        Just(b'}'),
        Just(b':'),
        Just(b'-'),
        Just(b'.'),
        b'0'..=b'9',
        b'a'..=b'z',
        any::<u8>(),
    ];
    prop::collection::vec(byte, 0..600)
}

const HEADERS: [(Format, &str); 8] = [
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn garbled_records_never_panic_and_are_all_accounted(body in garbled(), valid in any::<bool>()) {
        let settings = Settings::default();
        for (format, header) in HEADERS {
            let mut data = header.as_bytes().to_vec();
            if valid && format == Format::Taobao {
                data.extend_from_slice(b"1,2,3,pv,1511544070\n");
            }
            data.extend_from_slice(&body);
            // A first line that fails a header check is an error, not a panic.
            if let Ok(acc) = read_all(&settings, &opts(format), data) {
                prop_assert_eq!(acc.read, acc.accepted + acc.rejected_total() + acc.duplicates);
                let lines = body.split(|b| *b == b'\n').count() as u64 + 2;
                prop_assert!(acc.read <= lines);
            }
        }
    }

    #[test]
    fn real_lines_garbled_are_all_accounted(
        file in 0usize..5,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..40),
    ) {
        let file = [TAOBAO_SLICE, TAOBAO_PREFIX, REES46, ML_100K, ML_SMALL][file];
        let text = std::fs::read(data(file)).expect("read");
        // The first 60 lines; the first one (a header or a record) stays intact.
        let cut = text.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(59).map_or(text.len(), |(i, _)| i + 1);
        let head = text.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
        let (first, rest) = text[..cut].split_at(head);
        let mut body = rest.to_vec();
        for (at, byte, op) in edits {
            if body.is_empty() {
                break;
            }
            let i = at.index(body.len());
            match op {
                0 => body[i] = byte,
                1 => body.insert(i, byte),
                _ => {
                    body.remove(i);
                }
            }
        }
        let data = [first, &body[..]].concat();
        let acc = read_all(&Settings::default(), &opts(Format::Auto), data).expect("the header is intact");
        prop_assert_eq!(acc.read, acc.accepted + acc.rejected_total() + acc.duplicates);
        prop_assert!(acc.read >= 19, "an edit joins at most two lines: {}", acc.read);
    }
}
