//! The change stream (MODEL.md §8) as JSON lines. Per tick: a `trending` line when the
//! shared trending list changed, then one line per user whose R(u) changed, by key.
//! A user on the trending fallback gets `"fallback":"trending"` and the items they
//! purchased that the list skips for them; their list then follows the trending lines.
//! On request (`--emit`), the same stream carries N(u), S(i) and h(u) lines, each told
//! apart by its field name (`neighbours`, `similar`, `embedding`).

use std::collections::HashMap;
use std::io::Write;

use anyhow::Result;
use dataflows::changes::{State, TickChanges, Touched};
use dataflows::model::{Key, Settings, Time, Weight};
use serde::Serialize;

use crate::input::Dictionary;

/// What a consumer holds for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
enum UserView {
    Personal(Vec<(Key, Weight)>),
    Fallback(Vec<Key>),
}

#[derive(Serialize)]
struct Scored {
    item: String,
    score: f64,
}

#[derive(Serialize)]
struct Counted {
    item: String,
    score: Weight,
}

#[derive(Serialize)]
struct ScoredUser {
    user: String,
    score: f64,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Line<'a> {
    Recs { tick: Time, user: String, recs: Vec<Scored> },
    Fallback { tick: Time, user: String, fallback: &'a str, skip: Vec<String> },
    Trending { tick: Time, trending: Vec<Counted> },
    Neighbours { tick: Time, user: String, neighbours: Vec<ScoredUser> },
    Similar { tick: Time, item: String, similar: Vec<Scored> },
    Embedding { tick: Time, user: String, embedding: Vec<f64> },
}

/// Which change streams to write besides R(u) (`--emit`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Streams {
    pub recs: bool,
    pub neighbours: bool,
    pub similar: bool,
    pub embeddings: bool,
}

impl Streams {
    /// Parses `recs,neighbours,similar,embeddings` (any subset).
    pub fn parse(list: &str) -> Result<Streams, String> {
        let mut s = Streams::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "recs" => s.recs = true,
                "neighbours" | "neighbors" => s.neighbours = true,
                "similar" => s.similar = true,
                "embeddings" => s.embeddings = true,
                other => {
                    return Err(format!(
                        "unknown stream `{other}`; expected recs, neighbours, similar, embeddings"
                    ))
                }
            }
        }
        Ok(s)
    }
}

pub struct Emitter<W: Write> {
    out: W,
    ids: Dictionary,
    streams: Streams,
    sim_scale: f64,
    unit: f64,
    pub state: State,
    views: HashMap<Key, UserView>,
    trending: Vec<(Key, Weight)>,
    pub lines: u64,
}

impl<W: Write> Emitter<W> {
    pub fn new(out: W, ids: Dictionary, settings: &Settings, streams: Streams) -> Self {
        Emitter {
            out,
            ids,
            streams,
            sim_scale: settings.sim_scale as f64,
            unit: settings.embedding_unit as f64,
            state: State::default(),
            views: HashMap::new(),
            trending: Vec::new(),
            lines: 0,
        }
    }

    /// Applies one tick's changes and writes the lines of what changed.
    pub fn tick(&mut self, changes: &TickChanges) -> Result<()> {
        let touched = self.state.apply(changes);
        let tick = changes.tick;
        if self.streams.recs {
            self.recs(tick, &touched)?;
        }
        if self.streams.neighbours {
            for user in &touched.neighbour_users {
                let line = self.neighbours_line(tick, *user);
                self.write(&line)?;
            }
        }
        if self.streams.similar {
            for item in &touched.items {
                let line = self.similar_line(tick, *item);
                self.write(&line)?;
            }
        }
        if self.streams.embeddings {
            for user in &touched.embedded_users {
                let line = self.embedding_line(tick, *user);
                self.write(&line)?;
            }
        }
        Ok(())
    }

    fn recs(&mut self, tick: Time, touched: &Touched) -> Result<()> {
        if touched.trending {
            let list = self.state.trending_list();
            if list != self.trending {
                let trending =
                    list.iter().map(|(i, s)| Counted { item: self.ids.id_of(*i), score: *s }).collect();
                self.write(&Line::Trending { tick, trending })?;
                self.trending = list;
            }
        }
        for &user in &touched.users {
            let view = self.view_of(user);
            if self.views.get(&user) == view.as_ref() {
                continue;
            }
            let line = self.line_of(tick, user, view.as_ref());
            self.write(&line)?;
            match view {
                Some(v) => self.views.insert(user, v),
                None => self.views.remove(&user),
            };
        }
        Ok(())
    }

    fn neighbours_line(&self, tick: Time, user: Key) -> Line<'static> {
        let list = self.state.neighbours.get(&user).into_iter().flatten();
        let neighbours = list
            .map(|(s, v)| ScoredUser { user: self.ids.id_of(*v), score: s.0 as f64 / self.sim_scale })
            .collect();
        Line::Neighbours { tick, user: self.ids.id_of(user), neighbours }
    }

    fn similar_line(&self, tick: Time, item: Key) -> Line<'static> {
        let list = self.state.similar.get(&item).into_iter().flatten();
        let similar = list
            .map(|(s, j)| Scored { item: self.ids.id_of(*j), score: s.0 as f64 / self.sim_scale })
            .collect();
        Line::Similar { tick, item: self.ids.id_of(item), similar }
    }

    fn embedding_line(&self, tick: Time, user: Key) -> Line<'static> {
        let h = self.state.h.get(&user).map(|v| v.iter().map(|x| *x as f64 / self.unit).collect());
        Line::Embedding { tick, user: self.ids.id_of(user), embedding: h.unwrap_or_default() }
    }

    /// Flushes the lines written so far (when following, after each completed tick).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(W, State)> {
        self.out.flush()?;
        Ok((self.out, self.state))
    }

    fn view_of(&self, user: Key) -> Option<UserView> {
        if let Some(list) = self.state.personal.get(&user) {
            return Some(UserView::Personal(list.iter().map(|(s, i)| (*i, s.0)).collect()));
        }
        self.state.fallback.contains(&user).then(|| {
            let skips = self.state.skips.get(&user);
            UserView::Fallback(skips.map(|s| s.iter().copied().collect()).unwrap_or_default())
        })
    }

    fn line_of(&self, tick: Time, user: Key, view: Option<&UserView>) -> Line<'static> {
        let user_id = self.ids.id_of(user);
        match view {
            Some(UserView::Personal(list)) => Line::Recs {
                tick,
                user: user_id,
                recs: list
                    .iter()
                    .map(|(i, s)| Scored { item: self.ids.id_of(*i), score: *s as f64 / self.sim_scale })
                    .collect(),
            },
            Some(UserView::Fallback(skips)) => Line::Fallback {
                tick,
                user: user_id,
                fallback: "trending",
                skip: skips.iter().map(|i| self.ids.id_of(*i)).collect(),
            },
            None => Line::Recs { tick, user: user_id, recs: Vec::new() },
        }
    }

    fn write(&mut self, line: &Line<'_>) -> Result<()> {
        serde_json::to_writer(&mut self.out, line)?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }
}
