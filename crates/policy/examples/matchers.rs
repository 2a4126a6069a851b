//! Which Aho–Corasick implementation the keyword matcher uses, decided by measuring:
//! `aho-corasick` (DFA and contiguous NFA) against `daachorse` (bytewise and charwise double
//! arrays), with 10,000 terms (half English phrases, half Chinese words) over 64 MB of mixed
//! English/Chinese text, counting every overlapping match as the policy does.
//!
//! `cargo run --release -p assay-policy --example matchers [-- TERMS MEGABYTES]`

use std::time::Instant;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use daachorse::{CharwiseDoubleArrayAhoCorasick, DoubleArrayAhoCorasick};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WORDS: &[&str] = &[
    "market", "river", "system", "engine", "policy", "garden", "signal", "window", "bridge",
    "silver", "thunder", "planet", "forest", "castle", "rocket", "mirror", "shadow", "candle",
    "butter", "pepper", "ticket", "winter", "summer", "harbor", "island", "meadow", "valley",
    "canyon", "desert", "jungle", "glacier", "volcano", "ocean", "marble", "copper", "bronze",
    "cotton", "velvet", "saddle", "anchor", "lantern", "compass", "engineer", "doctor",
];

/// Common Chinese characters to draw words and text from.
const HANZI: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严";

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_terms = args.first().copied().unwrap_or(10_000);
    let megabytes = args.get(1).copied().unwrap_or(64);
    let mut rng = StdRng::seed_from_u64(20261128);
    let hanzi: Vec<char> = HANZI.chars().collect();
    let mut terms: Vec<String> = Vec::with_capacity(n_terms);
    while terms.len() < n_terms {
        let term = if terms.len().is_multiple_of(2) {
            let k = rng.gen_range(2..=3);
            (0..k)
                .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            let k = rng.gen_range(2..=4);
            (0..k)
                .map(|_| hanzi[rng.gen_range(0..hanzi.len())])
                .collect()
        };
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    // Text is mostly other words, so that matches are as rare as in a real corpus (a few per
    // thousand words); the term vocabulary still turns up often enough to exercise the
    // automata's match paths.
    let filler: Vec<String> = (0..5000)
        .map(|_| {
            (0..rng.gen_range(3..10))
                .map(|_| rng.gen_range(b'a'..=b'z') as char)
                .collect()
        })
        .collect();
    let mut text = String::with_capacity(megabytes << 20);
    while text.len() < megabytes << 20 {
        if rng.gen_bool(0.5) {
            for _ in 0..rng.gen_range(5..40) {
                if rng.gen_bool(0.05) {
                    text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
                } else {
                    text.push_str(&filler[rng.gen_range(0..filler.len())]);
                }
                text.push(' ');
            }
        } else {
            for _ in 0..rng.gen_range(10..80) {
                text.push(hanzi[rng.gen_range(0..hanzi.len())]);
            }
        }
        text.push('\n');
    }
    let mb = text.len() as f64 / 1e6;
    println!(
        "{} terms ({} English, {} Chinese), {mb:.1} MB of text",
        terms.len(),
        terms.len() / 2,
        terms.len() - terms.len() / 2
    );
    println!("| matcher | build ms | heap MB | matches | MB/s |");
    println!("|---|---:|---:|---:|---:|");

    for (name, kind) in [
        ("aho-corasick DFA", AhoCorasickKind::DFA),
        (
            "aho-corasick contiguous NFA",
            AhoCorasickKind::ContiguousNFA,
        ),
    ] {
        let t = Instant::now();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&terms)
            .expect("builds");
        let build = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let count = ac.find_overlapping_iter(&text).count();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "| {name} | {build:.0} | {:.1} | {count} | {:.0} |",
            ac.memory_usage() as f64 / 1e6,
            mb / secs
        );
    }
    let t = Instant::now();
    let da = DoubleArrayAhoCorasick::<u32>::new(&terms).expect("builds");
    let build = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let count = da.find_overlapping_iter(&text).count();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "| daachorse bytewise | {build:.0} | {:.1} | {count} | {:.0} |",
        da.heap_bytes() as f64 / 1e6,
        mb / secs
    );
    let t = Instant::now();
    let cda = CharwiseDoubleArrayAhoCorasick::<u32>::new(&terms).expect("builds");
    let build = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let count = cda.find_overlapping_iter(&text).count();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "| daachorse charwise | {build:.0} | {:.1} | {count} | {:.0} |",
        cda.heap_bytes() as f64 / 1e6,
        mb / secs
    );
}
