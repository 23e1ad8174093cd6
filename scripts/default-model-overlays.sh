#!/usr/bin/env bash
# Regenerates the default model's overlays on the photos of ../shared/data/images with the label sets the model
# card shows (successes and failures alike). Usage: scripts/default-model-overlays.sh OUT_DIR [lseg command...]
# The lseg command defaults to `dotnet run -c Release --project src/LSeg.Cli --`; pass e.g. a published lseg binary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?give an output folder}
shift
if [ $# -eq 0 ]; then set -- dotnet run -c Release --project src/LSeg.Cli --; fi
images=../shared/data/images
while IFS='|' read -r name image labels; do
  [ -z "$name" ] && continue
  mkdir -p "$out/$name"
  echo "== $name ($image): $labels"
  "$@" segment "$images/$image" --labels "$labels" --out "$out/$name"
done <<'LIST'
dog-bicycle-car|dog.jpg|dog, bicycle, car, tree, other
eagle|eagle.jpg|bird, sky, tree, other
cat-not-offered|chelsea.png|dog, wall, other
cat|chelsea.png|cat, wall, other
cat-parts|chelsea.png|fur, eyes, nose, other
coffee|coffee.png|cup, table, saucer, spoon, other
pony-meadow|horses.jpg|pony, meadow, sky, mountain, other
person-dog-horse|person.jpg|person, dog, horse, grass, sky, other
giraffe|giraffe.jpg|giraffe, tree, sky, grass, other
kite-beach|kite.jpg|kite, person, sea, sand, sky, other
astronaut|astronaut.png|person, flag, spacesuit, other
motorcycle|motorcycle_left.png|motorcycle, wall, floor, other
horse-single|horse.png|horse, other
LIST
