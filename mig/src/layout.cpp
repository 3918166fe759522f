// Message layout: where each argument travels, at which offset.
#include "model.h"
#include "sema.h"

namespace mig {
namespace {

bool is_message_arg(const Arg& a) {
  return a.kind == ArgKind::In || a.kind == ArgKind::Out ||
         a.kind == ArgKind::InOut;
}

const char* kpd_ctype(KpdKind k) {
  switch (k) {
    case KpdKind::Port: return "mach_msg_port_descriptor_t";
    case KpdKind::Ool: return "mach_msg_ool_descriptor_t";
    case KpdKind::OolPorts: return "mach_msg_ool_ports_descriptor_t";
    default: return "?";
  }
}

unsigned kpd_size(KpdKind k) { return k == KpdKind::Port ? 12 : 16; }

class Builder {
 public:
  explicit Builder(Message& m) : m_(m) {}

  void add(Field f) {
    f.offset = off_;
    f.pos = pos_;
    off_ += f.size;
    if (f.variable) {
      ++m_.num_var;
      pending_var_ = true;
    }
    m_.fields.push_back(std::move(f));
  }
  // Called after a variable field's padding: later fields move with it.
  void end_item() {
    if (pending_var_) {
      ++pos_;
      pending_var_ = false;
    }
  }
  void pad_after(const std::string& name, unsigned size, Arg* a) {
    if (size % 4 == 0) return;
    Field p;
    p.role = Field::Role::Pad;
    p.name = name + "Pad";
    p.ctype = p.sctype = "char";
    p.dim = 4 - size % 4;
    p.size = p.dim;
    p.arg = a;
    p.variable = false;
    p.offset = off_;
    p.pos = pos_;
    off_ += p.size;
    m_.fields.push_back(std::move(p));
  }
  void finish() { m_.size = off_; }

 private:
  Message& m_;
  unsigned off_ = 0;
  int pos_ = 0;
  bool pending_var_ = false;
};

Field simple_field(Field::Role role, const std::string& name,
                   const std::string& ctype, unsigned size, Arg* a) {
  Field f;
  f.role = role;
  f.name = name;
  f.ctype = f.sctype = ctype;
  f.size = size;
  f.arg = a;
  return f;
}

// The data field of an in-line argument.
Field data_field(Arg* a) {
  const Type& t = *a->type;
  Field f;
  f.role = Field::Role::Data;
  f.name = a->name;
  f.arg = a;
  f.size = t.value_bytes();
  f.variable = t.variable;
  bool named = !t.name.empty() || !t.ctype.empty();
  if (t.kind == Type::Kind::Array && (t.variable || !named)) {
    f.ctype = t.elem->user_type();
    f.sctype = t.elem->server_type();
    f.dim = t.count;
  } else if (t.kind == Type::Kind::String && (t.variable || !named)) {
    f.ctype = f.sctype = "char";
    f.dim = t.count;
  } else if (t.kind == Type::Kind::Struct && !named) {
    f.ctype = t.elem->user_type();
    f.sctype = t.elem->server_type();
    f.dim = t.count;
  } else {
    f.ctype = t.user_type();
    f.sctype = t.server_type();
  }
  return f;
}

void build(Routine& r, bool request, Message& m) {
  m = Message{};
  Builder b(m);
  b.add(simple_field(Field::Role::Head, "Head", "mach_msg_header_t", 24, nullptr));

  auto in_msg = [&](const Arg* a) {
    return a && (request ? a->in_request : a->in_reply);
  };

  // 1. Descriptors, in argument order.
  std::vector<Arg*> kpds;
  for (const auto& up : r.args) {
    Arg* a = up.get();
    if (!a->parent && is_message_arg(*a) && in_msg(a) &&
        a->type->kpd() != KpdKind::None)
      kpds.push_back(a);
  }
  if (!kpds.empty()) {
    m.complex = true;
    b.add(simple_field(Field::Role::Body, "msgh_body", "mach_msg_body_t", 4,
                       nullptr));
    for (Arg* a : kpds) {
      Field f = simple_field(Field::Role::Kpd, a->name, kpd_ctype(a->type->kpd()),
                             0, a);
      f.kpd = a->type->kpd();
      f.kpd_count = a->type->kpd_count();
      bool multiple = f.kpd == KpdKind::Port && a->type->kind != Type::Kind::Port;
      if (multiple) f.dim = f.kpd_count;
      f.size = kpd_size(f.kpd) * (multiple ? f.kpd_count : 1);
      m.descriptors += multiple ? f.kpd_count : 1;
      b.add(std::move(f));
    }
  }

  // 2. In-line data, in argument order.
  std::vector<Field> body;
  bool retcode = !request && !m.complex;
  for (const auto& up : r.args) {
    Arg* a = up.get();
    if (a->parent || !is_message_arg(*a)) continue;
    bool here = in_msg(a);
    bool count_here = a->count && a->owns_count && in_msg(a->count);
    if (!here && !count_here) continue;
    if (here && a->type->kpd() != KpdKind::None) {
      if (count_here)
        body.push_back(simple_field(Field::Role::Count, a->count->name,
                                    "mach_msg_type_number_t", 4, a->count));
      continue;
    }
    if (here && a->offset && in_msg(a->offset))
      body.push_back(simple_field(Field::Role::Offset, a->offset->name,
                                  "mach_msg_type_number_t", 4, a->offset));
    if (count_here)
      body.push_back(simple_field(Field::Role::Count, a->count->name,
                                  "mach_msg_type_number_t", 4, a->count));
    if (here) body.push_back(data_field(a));
  }

  if (!body.empty() || retcode) {
    m.has_ndr = true;
    b.add(simple_field(Field::Role::Ndr, "NDR", "NDR_record_t", 8, nullptr));
  }
  if (retcode) {
    b.add(simple_field(Field::Role::RetCode, "RetCode", "kern_return_t", 4,
                       nullptr));
    r.reply_has_retcode = true;
  }
  for (auto& f : body) {
    std::string name = f.name;
    unsigned size = f.size;
    Arg* a = f.arg;
    bool data = f.role == Field::Role::Data;
    b.add(std::move(f));
    if (data) b.pad_after(name, size, a);
    b.end_item();
  }
  b.finish();
}

}  // namespace

void compute_layout(Routine& r) {
  build(r, true, r.request);
  build(r, false, r.reply);
}

}  // namespace mig
