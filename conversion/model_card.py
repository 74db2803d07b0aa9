"""Model cards: Hugging Face YAML front matter + the sections every keras_reid preset needs."""

import re

REQUIRED_FRONT_MATTER = ("library_name", "license", "tags")


def parse_front_matter(text):
    """Returns the YAML front matter of a card as a dict ({} when there is none)."""
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if not match:
        return {}
    block = match.group(1)
    try:
        import yaml

        data = yaml.safe_load(block)
        return data if isinstance(data, dict) else {}
    except ImportError:  # a minimal subset: `key: value` and `key:` + `- item` lists
        data, key = {}, None
        for line in block.splitlines():
            if line.startswith("- ") and key is not None:
                data.setdefault(key, [])
                data[key].append(line[2:].strip())
            elif ":" in line and not line.startswith(" "):
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                data[key] = value if value else []
        return data


def check_card(text):
    """Problems of a card (list of strings; empty when fine)."""
    front = parse_front_matter(text)
    if not front:
        return ["README.md has no YAML front matter (--- ... ---)"]
    problems = [f"front matter lacks {k!r}" for k in REQUIRED_FRONT_MATTER if not front.get(k)]
    if front.get("library_name") not in (None, "keras-reid"):
        problems.append(f"library_name is {front.get('library_name')!r}, expected 'keras-reid'")
    return problems


def _yaml_list(name, values):
    values = [v for v in values if v]
    if not values:
        return ""
    return f"{name}:\n" + "".join(f"- {v}\n" for v in values)


def render_card(
    name,
    architecture,
    license="other",
    datasets=(),
    metrics=("mAP", "rank-1"),
    summary="",
    provenance="",
    claimed="",
    measured="",
    usage_notes="",
    extra_tags=(),
):
    """A model card with front matter and the provenance / claimed vs measured sections."""
    tags = ["keras", "keras-reid", "person-reid", "image-feature-extraction", *extra_tags]
    front = (
        "---\nlibrary_name: keras-reid\n"
        f"license: {license}\n"
        + _yaml_list("tags", tags)
        + _yaml_list("datasets", datasets)
        + _yaml_list("metrics", metrics)
        + "pipeline_tag: image-feature-extraction\n---\n\n"
    )
    body = f"""# {name}

{summary or f'keras_reid `{architecture}` converted from PyTorch.'}

## Usage

```python
import keras_reid
model = keras_reid.load("{name}")          # or hf://ORG/{name}, or a local folder
embeddings = model.predict(images_uint8)   # raw RGB crops, any size: preprocessing is inside
```

## Provenance

{provenance or 'Converted with `python -m conversion convert` (see metadata.json).'}

## Results

### Claimed by the paper / upstream (not reproduced here)

{claimed or 'None published.'}

### Measured by this project

{measured or 'Not measured.'}

## Intended use and limitations

Research on person re-identification and re-identification methods. Person ReID
matches people across cameras: it can be used for surveillance and tracking of
individuals without their consent. Do not deploy it to identify or track people
without a legal basis, informed consent where required, and an impact assessment.
Training data (Market-1501, CUHK03, ImageNet) carry research-only terms; see
MODEL_CARD.md at the repository root. {usage_notes}
"""
    return front + body
