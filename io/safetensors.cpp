// The safetensors reader and writer. The reader trusts nothing in the file: every length and
// offset is checked against the bytes actually present before it is used.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace ember {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

using json = nlohmann::json;

namespace {

// Python's safetensors refuses headers above 100 MB; so do we, before allocating one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* dtype_code(ScalarType t) {
  switch (t) {
    case kFloat32: return "F32";
    case kFloat64: return "F64";
    case kInt64: return "I64";
    case kBool: return "BOOL";
  }
  return "?";
}

std::optional<ScalarType> dtype_from_code(const std::string& s) {
  if (s == "F32") return kFloat32;
  if (s == "F64") return kFloat64;
  if (s == "I64") return kInt64;
  if (s == "BOOL") return kBool;
  return std::nullopt;
}

// Every error names the file first, so a failing load in a long run says which file.
template <class... Parts>
[[noreturn]] void fail(const std::string& source, const Parts&... parts) {
  detail::throw_error("safetensors", "'", source, "': ", parts...);
}

std::string system_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

struct Entry {
  std::string name;
  ScalarType dtype;
  Shape shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& source, const std::string& name, const json& v, uint64_t data_len) {
  if (!v.is_object()) fail(source, "entry '", name, "' is not a JSON object");
  if (!v.contains("dtype") || !v["dtype"].is_string()) fail(source, "entry '", name, "' has no string \"dtype\"");
  if (!v.contains("shape") || !v["shape"].is_array()) fail(source, "entry '", name, "' has no \"shape\" list");
  if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
    fail(source, "entry '", name, "' needs \"data_offsets\": [begin, end]");
  const std::string code = v["dtype"].get<std::string>();
  auto dtype = dtype_from_code(code);
  if (!dtype) fail(source, "tensor '", name, "' has unknown or unsupported dtype '", code, "' (ember reads F32, F64, I64, BOOL)");
  Entry e{name, *dtype, {}, 0, 0};
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : v["shape"]) {
    if (!d.is_number_integer()) fail(source, "tensor '", name, "' has a non-integer size in its shape");
    if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
      fail(source, "tensor '", name, "' has a negative size ", d.get<int64_t>(), " in its shape");
    const uint64_t n = d.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    else if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n) overflow = true;
    else numel *= n;
    e.shape.push_back(static_cast<int64_t>(n));
  }
  for (int i = 0; i < 2; ++i) {
    const json& o = v["data_offsets"][static_cast<size_t>(i)];
    if (!o.is_number_unsigned()) fail(source, "tensor '", name, "' has a data offset that is not a non-negative integer");
  }
  e.begin = v["data_offsets"][0].get<uint64_t>();
  e.end = v["data_offsets"][1].get<uint64_t>();
  if (e.begin > e.end) fail(source, "tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] with begin > end");
  if (e.end > data_len)
    fail(source, "tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] out of range of the ", data_len,
         "-byte data region");
  const uint64_t esize = element_size(*dtype);
  if (overflow || numel > std::numeric_limits<uint64_t>::max() / esize || numel * esize != e.end - e.begin)
    fail(source, "tensor '", name, "' of dtype ", code, " and shape ", shape_text(e.shape), " needs ",
         overflow ? std::string("an overflowing number of") : std::to_string(numel * esize), " bytes but its data_offsets span ",
         e.end - e.begin);
  return e;
}

}  // namespace

std::string serialize_safetensors(const nn::StateDict& tensors, const Metadata& metadata) {
  NoGradGuard no_grad;
  json header = json::object();
  std::set<std::string> seen;
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    EMBER_CHECK(!name.empty() && name != "__metadata__", "safetensors", "invalid tensor name '", name, "'");
    EMBER_CHECK(seen.insert(name).second, "safetensors", "tensor name '", name, "' appears twice");
    EMBER_CHECK(t.defined(), "safetensors", "tensor '", name, "' is undefined");
    Tensor c = t.detach().cpu().contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(c.numel()) * element_size(c.dtype());
    json shape = json::array();
    for (int64_t s : c.sizes()) shape.push_back(s);
    header[name] = json{{"dtype", dtype_code(c.dtype())}, {"shape", shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(std::move(c));
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  // Pad with spaces to a multiple of 8 so the data region is aligned, as the Python writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += text;
  for (const Tensor& c : data) {
    if (c.numel() == 0) continue;
    if (c.dtype() == kBool) {
      const bool* b = c.data_ptr<bool>();
      for (int64_t i = 0; i < c.numel(); ++i) out.push_back(b[i] ? 1 : 0);
    } else {
      out.append(static_cast<const char*>(c.impl()->data()), static_cast<size_t>(c.numel()) * element_size(c.dtype()));
    }
  }
  return out;
}

SafetensorsFile deserialize_safetensors(const std::string& bytes, const std::string& source) {
  const uint64_t size = bytes.size();
  if (size < 8) fail(source, "file is too small (", size, " bytes) to hold the 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  if (n > size - 8) fail(source, "header length ", n, " exceeds the ", size - 8, " bytes after the length field (truncated file?)");
  if (n > kMaxHeaderBytes) fail(source, "header length ", n, " is larger than the 100 MB limit");
  if (n < 2) fail(source, "header length ", n, " is too small for a JSON object");
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const json::exception& e) {
    fail(source, "header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) fail(source, "header is not a JSON object");
  const uint64_t data_len = size - 8 - n;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail(source, "__metadata__ is not a JSON object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) fail(source, "__metadata__ value for '", m.key(), "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(source, it.key(), it.value(), data_len));
  }
  // The tensors must tile the data region exactly: sorted by offset, no overlap, no gap.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < cursor)
      fail(source, "tensor '", e.name, "' (bytes ", e.begin, "..", e.end, ") overlaps tensor '", prev->name, "' (bytes ",
           prev->begin, "..", prev->end, ")");
    if (e.begin > cursor) fail(source, "gap in the data region before tensor '", e.name, "' (bytes ", cursor, "..", e.begin, " unused)");
    cursor = e.end;
    prev = &e;
  }
  if (cursor != data_len)
    fail(source, "the tensors cover ", cursor, " bytes but the data region holds ", data_len, " bytes");
  const char* data = bytes.data() + 8 + n;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    if (e.dtype == kBool) {
      bool* b = t.data_ptr<bool>();
      // Any nonzero byte is true; copying raw bytes into bool storage could make invalid bools.
      for (uint64_t i = 0; i < e.end - e.begin; ++i) b[i] = data[e.begin + i] != 0;
    } else if (e.end > e.begin) {
      std::memcpy(t.impl()->data(), data + e.begin, e.end - e.begin);
    }
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // Appended piece by piece: GCC 12 gives a false -Wrestrict on "literal" + std::string&&.
  std::string name = ".";
  name += target.filename().string();
  name += ".tmp.XXXXXX";
  std::string tmpl = (dir / name).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) fail(path, "cannot create a temporary file in '", dir.string(), "': ", system_error("mkstemp"));
  auto abandon = [&](const std::string& why) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    fail(path, why);
  };
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) abandon(system_error("write"));
    written += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) abandon(system_error("fsync"));
  // mkstemp creates 0600; give the file the usual rw-r--r-- (reading the umask is not thread-safe).
  (void)::fchmod(fd, 0644);
  if (::close(fd) != 0) {
    ::unlink(tmpl.c_str());
    fail(path, system_error("close"));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const std::string why = system_error("rename");
    ::unlink(tmpl.c_str());
    fail(path, why);
  }
  // Persist the rename itself; failure here leaves a complete file, so it is not an error.
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void save(const nn::StateDict& tensors, const std::string& path, const Metadata& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

void save(const nn::Module& module, const std::string& path, const Metadata& metadata) {
  save(module.state_dict(), path, metadata);
}

SafetensorsFile load_with_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file: ", std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  return deserialize_safetensors(bytes, path);
}

nn::StateDict load(const std::string& path) { return load_with_metadata(path).tensors; }

void load(nn::Module& module, const std::string& path, bool strict) { module.load_state_dict(load(path), strict); }

}  // namespace ember
