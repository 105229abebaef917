//! Saving and loading trained networks: burn's record format (burnpack) with Atelier's metadata, and
//! safetensors for use outside the browser.
//!
//! burn's `Module::into_record` reads parameters back synchronously, which panics on wasm with WebGPU, so
//! parameters are collected here and read with the async calls; the bytes written are the same burnpack
//! records `ModuleRecord::from_bytes` reads.

use crate::error::StoreError;
use std::collections::BTreeMap;

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use super::nn::{Architecture, ModelOptions, Network};

/// Metadata key naming the architecture.
pub const META_ARCHITECTURE: &str = "atelier.architecture";
/// Metadata key with the number of classes.
pub const META_CLASSES: &str = "atelier.classes";
/// Metadata key with the model's shape options (JSON): the MLP's and the SVM's, and the ResNet's width and blocks.
pub const META_OPTIONS: &str = "atelier.options";
/// Metadata key with the format version.
pub const META_FORMAT: &str = "atelier.format";
const FORMAT_VERSION: &str = "1";

/// One parameter, collected for writing.
struct Collected {
    path: String,
    id: u64,
    dims: Vec<usize>,
    values: Tensor<1>,
}

/// Collects every float parameter with its path, as burn's own record collector names them.
#[derive(Default)]
struct Collector {
    path: Vec<String>,
    params: Vec<Collected>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // The `on_save` form, as burn's record does: what loading validates against.
        let tensor = param.transform_for_save().val();
        let dims = tensor.dims().to_vec();
        self.params.push(Collected {
            path: self.path.join("."),
            id: param.id.val(),
            dims,
            values: tensor.flatten::<1>(0, D - 1),
        });
    }
}

/// Every float parameter as (path, shape, f32 values), read with async readback.
pub async fn parameters(
    model: &Network,
) -> Result<Vec<(String, u64, Vec<usize>, Vec<f32>)>, StoreError> {
    let mut collector = Collector::default();
    model.visit(&mut collector);
    let mut out = Vec::with_capacity(collector.params.len());
    for p in collector.params {
        let data = p
            .values
            .into_data_async()
            .await
            .map_err(|e| StoreError::Device(format!("{e:?}")))?;
        let values = data
            .try_into_vec_as::<f32>()
            .map_err(|e| StoreError::Device(format!("{e:?}")))?;
        out.push((p.path, p.id, p.dims, values));
    }
    Ok(out)
}

/// The model as a burnpack record with Atelier's metadata (architecture, classes, shape options, and
/// `extra`).
pub async fn to_burnpack(
    model: &Network,
    classes: usize,
    options: &ModelOptions,
    extra: &BTreeMap<String, String>,
) -> Result<Vec<u8>, StoreError> {
    let tensors = parameters(model)
        .await?
        .into_iter()
        .map(|(path, id, dims, values)| {
            let bytes = Bytes::from_elems(values);
            burn_pack::Tensor::new(path, burn::tensor::DType::F32, dims, Some(id), bytes)
        })
        .collect();
    let mut writer = burn_pack::Writer::new(tensors)
        .with_metadata(META_FORMAT, FORMAT_VERSION)
        .with_metadata(META_ARCHITECTURE, model.architecture().key())
        .with_metadata(META_CLASSES, &classes.to_string())
        .with_metadata(
            META_OPTIONS,
            &serde_json::to_string(options).expect("options are plain data"),
        );
    for (key, value) in extra {
        writer = writer.with_metadata(key, value);
    }
    let bytes = writer
        .into_bytes()
        .map_err(|e| StoreError::Device(e.to_string()))?;
    Ok(bytes.to_vec())
}

/// A loaded model with the metadata its file carried.
pub struct LoadedModel {
    pub model: Network,
    pub classes: usize,
    pub options: ModelOptions,
    pub metadata: BTreeMap<String, String>,
}

/// Reads a burnpack record written by [`to_burnpack`] onto a new network on `device`. Nothing is
/// changed when the file is damaged or for another architecture.
pub fn from_burnpack(bytes: &[u8], device: &Device) -> Result<LoadedModel, StoreError> {
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| StoreError::NotAModel(e.to_string()))?;
    let metadata = reader.metadata().clone();
    let key = metadata
        .get(META_ARCHITECTURE)
        .ok_or_else(|| StoreError::NotAModel("no architecture in its metadata".into()))?;
    let architecture = Architecture::parse(key)
        .ok_or_else(|| StoreError::UnknownArchitecture { found: key.clone() })?;
    let classes = metadata
        .get(META_CLASSES)
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&c| (1..=256).contains(&c))
        .ok_or_else(|| StoreError::NotAModel("no valid class count in its metadata".into()))?;
    let options: ModelOptions = match metadata.get(META_OPTIONS) {
        Some(json) => {
            let options: ModelOptions = serde_json::from_str(json).map_err(|e| {
                StoreError::NotAModel(format!("its shape options are unreadable: {e}"))
            })?;
            // Files from before colour data recorded only the number of pixels.
            if json.contains("\"rows\"") {
                options
            } else {
                options.assume_square()
            }
        }
        None => ModelOptions::default(),
    };
    options.check().map_err(StoreError::NotAModel)?;
    if let Some(reason) = architecture.misfit(&options) {
        return Err(StoreError::NotAModel(reason));
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| StoreError::NotAModel(e.to_string()))?;
    let model = architecture
        .init(classes, &options, device)
        .try_load_record(record)
        .map_err(|e| StoreError::Mismatch {
            architecture: architecture.label().into(),
            reason: e.to_string(),
        })?;
    Ok(LoadedModel {
        model,
        classes,
        options,
        metadata,
    })
}

/// Checks a model file's architecture against the one expected, before loading it.
pub fn expect_architecture(bytes: &[u8], expected: Architecture) -> Result<(), StoreError> {
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| StoreError::NotAModel(e.to_string()))?;
    match reader.metadata().get(META_ARCHITECTURE) {
        Some(key) if key == expected.key() => Ok(()),
        Some(key) => Err(StoreError::Mismatch {
            architecture: expected.label().into(),
            reason: format!("the file holds a {key} model"),
        }),
        None => Err(StoreError::NotAModel(
            "no architecture in its metadata".into(),
        )),
    }
}

/// The model as a safetensors file (<https://github.com/huggingface/safetensors>): an 8-byte little-endian
/// header length, a JSON header naming each tensor's dtype, shape and byte range, then the data. Names are
/// burn's module paths (see README for the mapping to PyTorch).
pub async fn to_safetensors(
    model: &Network,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, StoreError> {
    let params = parameters(model).await?;
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (path, _, dims, values) in &params {
        let end = offset + values.len() * 4;
        header.insert(
            path.clone(),
            serde_json::json!({ "dtype": "F32", "shape": dims, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut meta: serde_json::Map<String, serde_json::Value> = metadata
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    meta.insert(META_ARCHITECTURE.into(), model.architecture().key().into());
    header.insert("__metadata__".into(), serde_json::Value::Object(meta));
    let mut header_bytes = serde_json::to_vec(&header).expect("a JSON map always serialises");
    // The data must start 8-byte aligned; the format pads the header with spaces.
    while !header_bytes.len().is_multiple_of(8) {
        header_bytes.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + header_bytes.len() + offset);
    out.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&header_bytes);
    for (_, _, _, values) in &params {
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::block_on;

    fn probabilities(model: &Network, device: &Device) -> Vec<f32> {
        let images: Vec<f32> = (0..2 * 784)
            .map(|i| ((i * 37) % 255) as f32 / 255.0)
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(images, [2, 1, 28, 28]), device);
        model
            .forward(x)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap()
    }

    #[test]
    fn burnpack_roundtrip_gives_identical_predictions_for_every_network() {
        let device = Device::flex();
        // Shapes other than the defaults: loading must rebuild them from the file.
        let options = ModelOptions {
            hidden: vec![32, 16],
            rff_features: 64,
            cnn_channels: vec![8, 16, 32],
            cnn_convs: 1,
            cnn_dense: 0,
            ..ModelOptions::default()
        };
        for architecture in Architecture::ALL {
            let model = architecture.init(10, &options, &device).valid();
            let mut extra = BTreeMap::new();
            extra.insert("atelier.note".to_string(), "hello".to_string());
            let bytes = block_on(to_burnpack(&model, 10, &options, &extra)).unwrap();
            let loaded = from_burnpack(&bytes, &device).unwrap();
            assert_eq!(loaded.classes, 10);
            assert_eq!(loaded.options, options);
            assert_eq!(
                loaded.metadata.get("atelier.note").map(String::as_str),
                Some("hello")
            );
            assert_eq!(loaded.model.architecture(), architecture);
            assert_eq!(
                probabilities(&model, &device),
                probabilities(&loaded.model.valid(), &device),
                "{architecture:?}"
            );
            assert!(expect_architecture(&bytes, architecture).is_ok());
        }
    }

    #[test]
    fn mismatched_and_damaged_files_fail_with_typed_errors() {
        let device = Device::flex();
        let resnet = Architecture::ResNet.init(10, &ModelOptions::default(), &device);
        let o = ModelOptions::default();
        // A ResNet's weights labelled as a CNN: the shapes do not fit.
        let mut lie = BTreeMap::new();
        lie.insert(META_ARCHITECTURE.to_string(), "cnn".to_string());
        let bytes = block_on(to_burnpack(&resnet, 10, &o, &lie)).unwrap();
        assert!(matches!(
            from_burnpack(&bytes, &device),
            Err(StoreError::Mismatch { .. })
        ));
        let honest = block_on(to_burnpack(&resnet, 10, &o, &BTreeMap::new())).unwrap();
        assert!(matches!(
            expect_architecture(&honest, Architecture::Cnn),
            Err(StoreError::Mismatch { .. })
        ));
        let mut unknown = BTreeMap::new();
        unknown.insert(META_ARCHITECTURE.to_string(), "transformer".to_string());
        let bytes = block_on(to_burnpack(&resnet, 10, &o, &unknown)).unwrap();
        assert!(matches!(
            from_burnpack(&bytes, &device),
            Err(StoreError::UnknownArchitecture { .. })
        ));
        // A ResNet-20's weights labelled with another width: refused, as is a width out of range.
        let with_width = |width: usize| {
            let options = ModelOptions {
                resnet_width: width,
                ..ModelOptions::default()
            };
            let bytes = block_on(to_burnpack(&resnet, 10, &options, &BTreeMap::new())).unwrap();
            from_burnpack(&bytes, &device)
        };
        assert!(matches!(with_width(32), Err(StoreError::Mismatch { .. })));
        assert!(matches!(with_width(0), Err(StoreError::NotAModel(_))));
        assert!(matches!(
            from_burnpack(b"not a model at all", &device),
            Err(StoreError::NotAModel(_))
        ));
        let truncated = &honest[..honest.len() / 2];
        assert!(from_burnpack(truncated, &device).is_err());
    }

    #[test]
    fn safetensors_layout_is_valid() {
        let device = Device::flex();
        let model = Architecture::RefCnn.init(10, &ModelOptions::default(), &device);
        let bytes = block_on(to_safetensors(&model, &BTreeMap::new())).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(header_len % 8, 0);
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        let map = header.as_object().unwrap();
        let mut total = 0usize;
        for (name, entry) in map.iter().filter(|(k, _)| *k != "__metadata__") {
            let shape: Vec<usize> = serde_json::from_value(entry["shape"].clone()).unwrap();
            let offsets: Vec<usize> =
                serde_json::from_value(entry["data_offsets"].clone()).unwrap();
            assert_eq!(
                offsets[1] - offsets[0],
                shape.iter().product::<usize>() * 4,
                "{name}"
            );
            total += offsets[1] - offsets[0];
        }
        assert_eq!(bytes.len(), 8 + header_len + total);
        assert_eq!(total / 4, 1_199_882);
        assert_eq!(map["__metadata__"][META_ARCHITECTURE], "refcnn");
        // The names and layouts README documents for PyTorch users.
        assert_eq!(
            map["RefCnn.conv1.weight"]["shape"],
            serde_json::json!([32, 1, 3, 3])
        );
        assert_eq!(
            map["RefCnn.fc1.weight"]["shape"],
            serde_json::json!([9216, 128])
        );
        assert_eq!(map["RefCnn.fc2.bias"]["shape"], serde_json::json!([10]));
    }
}
