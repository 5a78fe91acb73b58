#!/bin/sh
# Regenerates the committed Protobuf descriptor sets of schemas/ from the .proto files, so that
# smelter itself never needs protoc at run time:
#   schemas/<name>.desc          protoc --include_imports --descriptor_set_out
#   schemas/registry/<id>.desc   the same bytes under the local registry's schema ids
#   schemas/registry/<id>.avsc   copies of schemas/<name>.avsc (ids: orders 1, activity 2, profiles 3)
# Needs protoc (Debian: apt-get install protobuf-compiler). Run from anywhere.
set -eu
cd "$(dirname "$0")/../schemas"
command -v protoc >/dev/null || { echo "gen-proto.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
mkdir -p registry
id=1
for name in orders activity profiles; do
    protoc --include_imports --descriptor_set_out="$name.desc" "$name.proto"
    cp "$name.desc" "registry/$id.desc"
    cp "$name.avsc" "registry/$id.avsc"
    id=$((id + 1))
done
echo "gen-proto.sh: wrote schemas/{orders,activity,profiles}.desc and schemas/registry/{1,2,3}.{desc,avsc}"
