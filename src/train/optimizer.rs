//! Adam (Kingma & Ba 2015, arXiv 1412.6980, Algorithm 1) with global gradient-norm clipping
//! (Pascanu et al. 2013). Written here rather than taken from `tch::nn::Optimizer` because its
//! moment estimates must be saved in checkpoints for exact resumption.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use tch::Tensor;

/// Adam state: first and second moments per parameter, in a fixed (name-sorted) order.
#[derive(Debug)]
pub struct Adam {
    /// Learning rate α.
    pub lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Number of updates taken (t in the paper).
    pub step: i64,
    names: Vec<String>,
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl Adam {
    /// Takes the trainable variables (name → tensor) of a `VarStore`.
    pub fn new(vars: HashMap<String, Tensor>, lr: f64, betas: (f64, f64), eps: f64) -> Self {
        let mut named: Vec<(String, Tensor)> = vars.into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let (names, params): (Vec<_>, Vec<_>) = named.into_iter().unzip();
        let m = params.iter().map(|p| p.zeros_like()).collect();
        let v = params.iter().map(|p| p.zeros_like()).collect();
        Self {
            lr,
            beta1: betas.0,
            beta2: betas.1,
            eps,
            step: 0,
            names,
            params,
            m,
            v,
        }
    }

    /// The parameters, in the optimiser's fixed (name-sorted) order: the same on every rank of
    /// a data-parallel run.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Sets all gradients to zero.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// Global L2 norm of all gradients (before clipping).
    pub fn grad_norm(&self) -> f64 {
        tch::no_grad(|| {
            let sq: Vec<Tensor> = self
                .params
                .iter()
                .map(|p| p.grad())
                .filter(|g| g.defined())
                .map(|g| g.square().sum(g.kind()))
                .collect();
            if sq.is_empty() {
                return 0.0;
            }
            Tensor::stack(&sq, 0)
                .sum(sq[0].kind())
                .sqrt()
                .double_value(&[])
        })
    }

    /// Clips the gradients to global norm `max_norm` (if `max_norm > 0`) and applies one
    /// Adam update. Returns the gradient norm before clipping.
    pub fn clip_and_step(&mut self, max_norm: f64) -> f64 {
        let norm = self.grad_norm();
        let scale = if max_norm > 0.0 && norm > max_norm {
            max_norm / (norm + 1e-6)
        } else {
            1.0
        };
        self.step += 1;
        let bc1 = 1.0 - self.beta1.powi(self.step as i32);
        let bc2 = 1.0 - self.beta2.powi(self.step as i32);
        let step_size = self.lr / bc1;
        tch::no_grad(|| {
            for ((p, m), v) in self.params.iter_mut().zip(&mut self.m).zip(&mut self.v) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if scale != 1.0 { g * scale } else { g };
                let _ = m.g_mul_scalar_(self.beta1);
                let _ = m.g_add_(&(&g * (1.0 - self.beta1)));
                let _ = v.g_mul_scalar_(self.beta2);
                let _ = v.g_add_(&(g.square() * (1.0 - self.beta2)));
                let denom = (&*v / bc2).sqrt() + self.eps;
                let _ = p.g_sub_(&(&*m / denom * step_size));
            }
        });
        norm
    }

    /// Writes the moments to a safetensors file (`m.<param>`, `v.<param>`).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut named: Vec<(String, &Tensor)> = Vec::new();
        for (i, n) in self.names.iter().enumerate() {
            named.push((format!("m.{n}"), &self.m[i]));
            named.push((format!("v.{n}"), &self.v[i]));
        }
        Tensor::write_safetensors(&named, path)
            .with_context(|| format!("writing optimizer state {}", path.display()))
    }

    /// Reads the moments written by [`Adam::save`]. Errors if a parameter is missing or has
    /// another shape (the checkpoint is from a different model).
    pub fn load(&mut self, path: &Path) -> anyhow::Result<()> {
        let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .with_context(|| format!("reading optimizer state {}", path.display()))?
            .into_iter()
            .collect();
        for (i, n) in self.names.iter().enumerate() {
            for (prefix, dst) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                let key = format!("{prefix}.{n}");
                let src = tensors.get(&key).with_context(|| {
                    format!("{}: no tensor {key} (different model?)", path.display())
                })?;
                anyhow::ensure!(
                    src.size() == dst.size(),
                    "{}: {key} has shape {:?}, model needs {:?}",
                    path.display(),
                    src.size(),
                    dst.size()
                );
                tch::no_grad(|| dst.copy_(src));
            }
        }
        Ok(())
    }
}

impl crate::artifacts::checkpoint::OptimizerState for Adam {
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        Adam::save(self, path)
    }
    fn load(&mut self, path: &Path) -> anyhow::Result<()> {
        Adam::load(self, path)
    }
}
