//! Exact TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2: path-dependent, cover-weighted)
//! for forust's boosted trees: per-feature contributions that add up, with the trees' expected
//! value, to a row's raw log-odds.
//!
//! Written here because forust's `ContributionsMethod::Shapley` (the recursive algorithm, as
//! in XGBoost) costs ~270 us a row for 100 depth-4 trees: minutes for a million-renewal
//! snapshot. The per-leaf form of the same sum (Yang 2021, "Fast TreeSHAP", v2) is used
//! instead: for a leaf with value v whose path splits on the unique features U (m of them),
//! with z_j the product of the cover fractions of the path's steps on feature j and o_j = 1 when
//! the row follows all of them,
//!
//!   phi_i += v (o_i - z_i) sum_{S subset of U \ {i}} |S|! (m-|S|-1)! / m! prod_{j in S} o_j prod_{j not in S, j != i} z_j
//!
//! which depends on the row only through the bits o, so it is tabulated per leaf for the 2^m
//! patterns when the trees are loaded; a row then costs one pass over each leaf's path. Trees
//! with a leaf on more than [`MAX_TABLE_FEATURES`] features use the recursive algorithm (kept
//! below, with one preallocated path buffer). Tests check both against forust's numbers.

use forust_ml::gradientbooster::GradientBooster;

#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: usize,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    feature: usize,
    split: f64,
    left: u32,
    right: u32,
    /// The child a missing value goes to; a third child when it is neither `left` nor `right`.
    missing: u32,
    cover: f64,
    value: f64,
    leaf: bool,
}

/// Leaves whose paths split on more unique features than this are not tabulated (the table
/// has 2^m x m entries).
pub const MAX_TABLE_FEATURES: usize = 6;

/// One step of a leaf's path: the row follows it when it goes, at node `node`, to the child
/// of kind `kind` (0 left, 1 right, 2 a separate missing branch).
#[derive(Debug, Clone, Copy)]
struct Step {
    node: u16,
    kind: u8,
    /// Index of the step's feature in the leaf's unique features.
    slot: u8,
}

/// A tabulated leaf: its steps, unique features and table, as ranges into its tree's arrays.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    steps: (u32, u32),
    features: u32,
    m: u32,
    /// `table[start + pattern * m + i]`: the contribution to feature i when the row follows
    /// the steps of exactly the features set in `pattern`.
    table: u32,
}

/// A tree tabulated leaf by leaf. A row is first routed at every internal node once
/// (branch-free), then each leaf reads its pattern off those directions.
#[derive(Debug, Clone, Default)]
struct TabulatedTree {
    /// Per node: (feature, split, kind a missing value goes to); leaves are never read.
    nodes: Vec<(usize, f64, u8)>,
    steps: Vec<Step>,
    features: Vec<usize>,
    table: Vec<f64>,
    leaves: Vec<Leaf>,
}

/// The boosted trees, flattened for explaining many rows.
#[derive(Debug, Clone)]
pub struct TreeExplainer {
    /// Trees tabulated leaf by leaf.
    tabulated: Vec<TabulatedTree>,
    /// Trees explained by the recursive algorithm.
    trees: Vec<Vec<Node>>,
    max_depth: usize,
}

fn factorial(n: usize) -> f64 {
    (1..=n).map(|k| k as f64).product()
}

/// The child kind of `child` at `node`: 0 left, 1 right, 2 a separate missing branch.
fn kind_of(node: &Node, child: u32) -> u8 {
    if child == node.left {
        0
    } else if child == node.right {
        1
    } else {
        2
    }
}

/// The tree with every leaf tabulated, or None when a leaf splits on too many features (or the
/// tree is too big for 16-bit node numbers).
fn tabulate(tree: &[Node]) -> Option<TabulatedTree> {
    if tree.len() > usize::from(u16::MAX) {
        return None;
    }
    let mut out = TabulatedTree {
        nodes: tree.iter().map(|n| (if n.leaf { 0 } else { n.feature }, n.split, kind_of(n, n.missing))).collect(),
        ..TabulatedTree::default()
    };
    // Depth-first walk carrying the path's (node, child) steps.
    let mut stack: Vec<(usize, Vec<(usize, usize)>)> = vec![(0, Vec::new())];
    while let Some((at, path)) = stack.pop() {
        let n = tree[at];
        if !n.leaf {
            let third = (n.missing != n.left && n.missing != n.right).then_some(n.missing);
            for child in [Some(n.left), Some(n.right), third].into_iter().flatten() {
                let mut next = path.clone();
                next.push((at, child as usize));
                stack.push((child as usize, next));
            }
            continue;
        }
        let mut features: Vec<usize> = Vec::new();
        let mut zero: Vec<f64> = Vec::new();
        let first_step = out.steps.len() as u32;
        for &(parent, child) in &path {
            let p = tree[parent];
            let slot = match features.iter().position(|&f| f == p.feature) {
                Some(slot) => slot,
                None => {
                    features.push(p.feature);
                    zero.push(1.0);
                    features.len() - 1
                }
            };
            zero[slot] *= tree[child].cover / p.cover;
            out.steps.push(Step { node: parent as u16, kind: kind_of(&p, child as u32), slot: slot as u8 });
        }
        let m = features.len();
        if m > MAX_TABLE_FEATURES {
            return None;
        }
        let weight = |s: usize| factorial(s) * factorial(m - s - 1) / factorial(m);
        let table_start = out.table.len() as u32;
        for pattern in 0usize..(1 << m) {
            for i in 0..m {
                let o_i = f64::from((pattern >> i) as u8 & 1);
                let others = pattern & !(1 << i);
                // Sum over the subsets S of the followed features other than i.
                let mut total = 0.0;
                let mut subset = others;
                loop {
                    let mut product = weight(subset.count_ones() as usize);
                    for (j, z) in zero.iter().enumerate() {
                        if j != i && subset & (1 << j) == 0 {
                            product *= z;
                        }
                    }
                    total += product;
                    if subset == 0 {
                        break;
                    }
                    subset = (subset - 1) & others;
                }
                out.table.push(tree[at].value * (o_i - zero[i]) * total);
            }
        }
        out.leaves.push(Leaf { steps: (first_step, out.steps.len() as u32), features: out.features.len() as u32, m: m as u32, table: table_start });
        out.features.extend(features);
    }
    Some(out)
}

impl TabulatedTree {
    #[inline]
    fn add(&self, row: &[f64], out: &mut [f64], directions: &mut Vec<u8>) {
        directions.clear();
        directions.extend(self.nodes.iter().map(|&(feature, split, missing)| {
            let x = row[feature];
            let nan = u8::from(x.is_nan());
            // NaN compares false: a missing value takes `missing`, others left (0) or right (1).
            nan * missing + (1 - nan) * u8::from(x >= split)
        }));
        for leaf in &self.leaves {
            let m = leaf.m as usize;
            if m == 0 {
                continue;
            }
            let mut pattern = (1usize << m) - 1;
            for step in &self.steps[leaf.steps.0 as usize..leaf.steps.1 as usize] {
                let missed = usize::from(directions[usize::from(step.node)] != step.kind);
                pattern &= !(missed << step.slot);
            }
            let start = leaf.table as usize + pattern * m;
            let features = &self.features[leaf.features as usize..leaf.features as usize + m];
            for (f, v) in features.iter().zip(&self.table[start..start + m]) {
                out[*f] += v;
            }
        }
    }
}

impl TreeExplainer {
    pub fn new(booster: &GradientBooster) -> Self {
        let max_depth = booster.trees.iter().flat_map(|t| t.nodes.iter().map(|n| n.depth)).max().unwrap_or(0);
        let trees = TreeExplainer::flatten(booster);
        Self::build(trees, max_depth)
    }

    fn flatten(booster: &GradientBooster) -> Vec<Vec<Node>> {
        booster
            .trees
            .iter()
            .map(|tree| {
                tree.nodes
                    .iter()
                    .map(|n| Node {
                        feature: n.split_feature,
                        split: n.split_value,
                        left: n.left_child as u32,
                        right: n.right_child as u32,
                        missing: n.missing_node as u32,
                        cover: f64::from(n.hessian_sum),
                        value: f64::from(n.weight_value),
                        leaf: n.is_leaf,
                    })
                    .collect()
            })
            .collect()
    }

    fn build(trees: Vec<Vec<Node>>, max_depth: usize) -> Self {
        let mut tabulated = Vec::new();
        let mut recursive = Vec::new();
        for tree in trees {
            if tree.is_empty() {
                continue;
            }
            match tabulate(&tree) {
                Some(table) => tabulated.push(table),
                None => recursive.push(tree),
            }
        }
        TreeExplainer { tabulated, trees: recursive, max_depth }
    }

    /// An explainer that uses the recursive algorithm for every tree (the reference the
    /// tables are tested against).
    pub fn recursive_only(booster: &GradientBooster) -> Self {
        let max_depth = booster.trees.iter().flat_map(|t| t.nodes.iter().map(|n| n.depth)).max().unwrap_or(0);
        TreeExplainer { tabulated: Vec::new(), trees: TreeExplainer::flatten(booster), max_depth }
    }

    /// Adds each feature's SHAP value for `row` (one value per feature, NaN = missing) to
    /// `out` (`row.len()` values).
    fn explain_row(&self, row: &[f64], out: &mut [f64], buffer: &mut Vec<PathElement>, directions: &mut Vec<u8>) {
        for tree in &self.tabulated {
            tree.add(row, out, directions);
        }
        if self.trees.is_empty() {
            return;
        }
        let d = self.max_depth + 2;
        buffer.clear();
        buffer.resize((d + 1) * (d + 2) / 2 + d, PathElement::default());
        for tree in &self.trees {
            if tree.is_empty() {
                continue;
            }
            recurse(tree, row, out, buffer, 0, 0, 0, 1.0, 1.0, usize::MAX);
        }
    }

    /// SHAP values of every row of a column-major design (`cols` = features), row-major out.
    pub fn explain(&self, values: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let mut out = vec![0.0; rows * cols];
        let mut row = vec![0.0; cols];
        let mut buffer = Vec::new();
        let mut directions = Vec::new();
        for r in 0..rows {
            for (j, x) in row.iter_mut().enumerate() {
                *x = values[j * rows + r];
            }
            self.explain_row(&row, &mut out[r * cols..(r + 1) * cols], &mut buffer, &mut directions);
        }
        out
    }
}

fn extend(path: &mut [PathElement], depth: usize, zero_fraction: f64, one_fraction: f64, feature: usize) {
    path[depth] = PathElement { feature, zero_fraction, one_fraction, weight: if depth == 0 { 1.0 } else { 0.0 } };
    let n = (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one_fraction * path[i].weight * (i + 1) as f64 / n;
        path[i].weight = zero_fraction * path[i].weight * (depth - i) as f64 / n;
    }
}

fn unwind(path: &mut [PathElement], depth: usize, index: usize) {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let n = (depth + 1) as f64;
    let mut next_one_portion = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next_one_portion * n / ((i + 1) as f64 * one);
            next_one_portion = tmp - path[i].weight * zero * (depth - i) as f64 / n;
        } else {
            path[i].weight = path[i].weight * n / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let n = (depth + 1) as f64;
    let mut next_one_portion = path[depth].weight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = next_one_portion * n / ((i + 1) as f64 * one);
            total += tmp;
            next_one_portion = path[i].weight - tmp * zero * ((depth - i) as f64 / n);
        } else if zero != 0.0 {
            total += path[i].weight / zero / ((depth - i) as f64 / n);
        }
    }
    total
}

/// One node of the recursion. The node's path lives at `buffer[start..start + depth + 1]`,
/// copied from its parent's; children write theirs after it.
#[allow(clippy::too_many_arguments)]
fn recurse(
    tree: &[Node],
    row: &[f64],
    out: &mut [f64],
    buffer: &mut [PathElement],
    node: usize,
    parent_start: usize,
    depth: usize,
    zero_fraction: f64,
    one_fraction: f64,
    feature: usize,
) {
    let start = parent_start + depth;
    if depth > 0 {
        buffer.copy_within(parent_start..parent_start + depth, start);
    }
    let mut depth = depth;
    extend(&mut buffer[start..], depth, zero_fraction, one_fraction, feature);
    let n = tree[node];
    if n.leaf {
        let path = &buffer[start..];
        for i in 1..=depth {
            let w = unwound_sum(path, depth, i);
            let el = path[i];
            out[el.feature] += w * (el.one_fraction - el.zero_fraction) * n.value;
        }
        return;
    }
    let x = row[n.feature];
    let hot = if x.is_nan() {
        n.missing
    } else if x < n.split {
        n.left
    } else {
        n.right
    };
    let mut incoming_zero = 1.0;
    let mut incoming_one = 1.0;
    if let Some(index) = (0..=depth).find(|&i| buffer[start + i].feature == n.feature) {
        incoming_zero = buffer[start + index].zero_fraction;
        incoming_one = buffer[start + index].one_fraction;
        unwind(&mut buffer[start..], depth, index);
        depth -= 1;
    }
    let third = (n.missing != n.left && n.missing != n.right).then_some(n.missing);
    for child in [Some(n.left), Some(n.right), third].into_iter().flatten() {
        let c = tree[child as usize];
        let zero = c.cover / n.cover * incoming_zero;
        let one = if child == hot { incoming_one } else { 0.0 };
        recurse(tree, row, out, buffer, child as usize, start, depth + 1, zero, one, n.feature);
    }
}
