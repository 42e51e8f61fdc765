//! One R-tree of the index with cheap moves and removals.
//!
//! rstar's own removal (`RTree::remove`) takes every node it visits out of
//! the tree and puts it back, which made it the most expensive part of a
//! location update. A [`Lane`] removes by *tombstoning* instead: the entry
//! is found with one read-only descent and its slot is set to [`DEAD`], so
//! its point and skills stay where they are and every box above it stays
//! valid. Searches skip dead entries (their slot has no hot record). When
//! the dead entries grow past a fraction of the live ones, the lane is
//! *repacked*: bulk loaded again from its live entries, which also undoes
//! the loss of packing that R* insertions cause over time.
use std::cell::Cell;

use rstar::{Envelope, ParentNode, RTree, RTreeNode, SelectionFunction};

use crate::geom::{Entry, Params, SkillBox};

pub(crate) type Tree = RTree<Entry, Params>;

/// The slot of a tombstoned entry.
pub(crate) const DEAD: u32 = u32::MAX;

/// An R-tree plus the number of tombstones in it.
pub(crate) struct Lane {
    tree: Tree,
    dead: usize,
}

impl Default for Lane {
    fn default() -> Self {
        Lane {
            tree: Tree::new_with_params(),
            dead: 0,
        }
    }
}

impl Lane {
    /// A packed lane holding `entries`.
    pub fn build(entries: Vec<Entry>) -> Self {
        Lane {
            tree: build_tree(entries),
            dead: 0,
        }
    }

    pub fn root(&self) -> &ParentNode<Entry> {
        self.tree.root()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.tree.size() - self.dead
    }

    /// Tombstones still in the tree.
    pub fn dead(&self) -> usize {
        self.dead
    }

    /// The live entries, in tree order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.tree.iter().filter(|e| e.slot != DEAD)
    }

    pub fn insert(&mut self, e: Entry) {
        self.tree.insert(e);
    }

    /// Tombstones `old`; `false` if it is not in the lane.
    pub fn remove(&mut self, old: &Entry) -> bool {
        match locate(&mut self.tree, old) {
            Some((e, _)) => {
                e.slot = DEAD;
                self.dead += 1;
                true
            }
            None => false,
        }
    }

    /// Moves `old` to `new` (same slot, same skills). In place when the
    /// leaf node holding `old` already contains the new point: every box
    /// above contains that leaf's box, so the tree stays valid (boxes no
    /// longer tight). Otherwise `old` is tombstoned and `new` inserted.
    pub fn relocate(&mut self, old: &Entry, new: Entry) {
        match locate(&mut self.tree, old) {
            // The leaf box holds `old`'s skills, which are `new`'s.
            Some((e, leaf_box)) if leaf_box.contains_point(&new.p) => *e = new,
            Some((e, _)) => {
                e.slot = DEAD;
                self.dead += 1;
                self.tree.insert(new);
            }
            None => {
                debug_assert!(false, "moved entry not in its tree");
                self.tree.insert(new);
            }
        }
    }

    /// Repacks when the tombstones exceed `fraction` of the live entries.
    pub fn repack_past(&mut self, fraction: f64) -> bool {
        if self.dead == 0 || (self.dead as f64) <= fraction * self.len() as f64 {
            return false;
        }
        let live: Vec<Entry> = self.iter().copied().collect();
        *self = Lane::build(live);
        true
    }
}

/// Finds `old` with one read-only descent (only into nodes whose box holds
/// its point and skills) and returns it with the box of the leaf node that
/// holds it.
///
/// rstar's selection iterator visits depth first from a stack: a node's
/// children are pushed when the node is accepted and popped right after,
/// and the children of a node are either all entries or all nodes. So when
/// an entry is tested, the last node accepted is its parent; `last` records
/// it. (The oracle tests fail if that ever stops holding: an in-place move
/// out of its real leaf box would hide the volunteer from searches.)
fn locate<'t>(tree: &'t mut Tree, old: &Entry) -> Option<(&'t mut Entry, SkillBox)> {
    struct Find<'e> {
        old: &'e Entry,
        last: &'e Cell<Option<SkillBox>>,
    }
    impl SelectionFunction<Entry> for Find<'_> {
        fn should_unpack_parent(&self, env: &SkillBox) -> bool {
            let ok = env.mask & self.old.mask == self.old.mask && env.contains_point(&self.old.p);
            if ok {
                self.last.set(Some(*env));
            }
            ok
        }
        fn should_unpack_leaf(&self, e: &Entry) -> bool {
            e == self.old
        }
    }
    let last = Cell::new(None);
    let found = tree
        .locate_with_selection_function_mut(Find { old, last: &last })
        .next()?;
    let leaf_box = last.get()?;
    Some((found, leaf_box))
}

/// Bulk loads a tree whose leaves are all at the same depth.
///
/// rstar 0.12's bulk loader can end some subtrees a level early (it makes a
/// leaf node as soon as a cluster has at most `MAX_SIZE` entries), and its R*
/// insertion assumes uniform depth: reinserting into such a tree can panic
/// ("This is a bug in rstar", seen at 1M volunteers after a few thousand
/// moves). So the bulk-loaded tree is checked, and rebuilt by plain
/// insertion (slower, always uniform) when the check fails.
pub(crate) fn build_tree(entries: Vec<Entry>) -> Tree {
    let tree = Tree::bulk_load_with_params(entries);
    if uniform_depth(tree.root()) {
        return tree;
    }
    let mut rebuilt = Tree::new_with_params();
    for e in tree.iter() {
        rebuilt.insert(*e);
    }
    rebuilt
}

/// Whether every leaf entry under `root` is at the same depth.
pub(crate) fn uniform_depth(root: &ParentNode<Entry>) -> bool {
    fn walk(node: &ParentNode<Entry>, depth: usize, leaf_depth: &mut Option<usize>) -> bool {
        for child in node.children() {
            let ok = match child {
                RTreeNode::Leaf(_) => *leaf_depth.get_or_insert(depth) == depth,
                RTreeNode::Parent(p) => walk(p, depth + 1, leaf_depth),
            };
            if !ok {
                return false;
            }
        }
        true
    }
    walk(root, 0, &mut None)
}
