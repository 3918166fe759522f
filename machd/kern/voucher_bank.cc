// machd/kern/voucher_bank.cc — see voucher_bank.h. The rules of each command
// and query are those of XNU's bank_get_value and bank_command.
#include "voucher_bank.h"

#include <cstdio>
#include <cstring>
#include <vector>

namespace machd::kern {

namespace {

constexpr uint32_t kPersonaNone = 0xFFFFFFFFu;  // PERSONA_ID_NONE: no task here has a persona

proc_persona_info info_for(const ipc::VoucherCaller& who) {
  proc_persona_info i{};
  i.unique_pid = who.creds.pidversion;
  i.pid = int32_t(who.creds.pid);
  i.flags = 0;  // no task may adopt personas (PROC_PERSONA_INFO_FLAG_ADOPTION_ALLOWED)
  i.pidversion = who.creds.pidversion;
  i.persona_id = kPersonaNone;
  i.uid = who.creds.euid;
  i.gid = who.creds.egid;
  return i;
}

// Writes `text` and its NUL as a value's content.
void put_text(const char* text, uint8_t* out, uint32_t* size) {
  const uint32_t n = uint32_t(strlen(text)) + 1;
  std::memcpy(out, text, n);
  *size = n;
}

template <typename T>
void put(const T& v, uint8_t* out, uint32_t* size) {
  std::memcpy(out, &v, sizeof v);
  *size = sizeof v;
}

}  // namespace

uint64_t BankAttr::context_of(const ipc::VoucherCaller& who) {
  if (auto it = by_task_.find(who.task); it != by_task_.end()) return it->second;
  const uint64_t h = next_++;
  tasks_.emplace(h, Task{who.task, info_for(who)});
  by_task_[who.task] = h;
  return h;
}

uint64_t BankAttr::account(uint64_t holder, uint64_t merchant, uint64_t originator, uint64_t proximate,
                           uint32_t persona) {
  const AccountKey key{holder, merchant, originator, proximate, persona};
  if (auto it = by_roles_.find(key); it != by_roles_.end()) {
    accounts_.at(it->second).made++;
    return it->second;
  }
  const uint64_t h = next_++;
  accounts_.emplace(h, Account{holder, merchant, originator, proximate, persona, 1});
  by_roles_[key] = h;
  for (uint64_t t : {holder, merchant, originator, proximate}) tasks_.at(t).accounts++;
  return h;
}

void BankAttr::settle(uint64_t h) {
  auto it = tasks_.find(h);
  if (it == tasks_.end() || it->second.made != 0 || it->second.accounts != 0) return;
  if (auto t = by_task_.find(it->second.task); t != by_task_.end() && t->second == h) by_task_.erase(t);
  tasks_.erase(it);
}

kern_return_t BankAttr::get_value(const ipc::VoucherCaller& who, mach_voucher_attr_key_t,
                                  mach_voucher_attr_recipe_command_t command, std::span<const uint64_t> prev,
                                  std::span<const uint8_t>, uint64_t* value, bool* persist) {
  *persist = false;
  *value = 0;
  switch (command) {
    case MACH_VOUCHER_ATTR_BANK_CREATE:
      // "Whoever holds this": re-made for the sender when sent.
      *value = kTaskContext;
      *persist = true;
      return KERN_SUCCESS;

    case MACH_VOUCHER_ATTR_BANK_MODIFY_PERSONA:
      for (uint64_t v : prev)
        if (v != 0 && v != kTaskContext) return KERN_NO_ACCESS;  // needs an entitlement no task here has
      return KERN_SUCCESS;

    case MACH_VOUCHER_ATTR_AUTO_REDEEM:
      for (uint64_t v : prev) {
        if (v == 0 || v == kTaskContext) continue;
        uint64_t holder = v, originator = v, proximate = v;
        uint32_t persona = 0;
        if (is_task(v)) {
          persona = info(v).persona_id;
        } else {
          const Account& a = accounts_.at(v);
          holder = a.holder;
          originator = a.originator;
          proximate = a.proximate;
          persona = a.persona_id;
        }
        const uint64_t merchant = context_of(who);
        if (holder == merchant && originator == merchant && proximate == merchant &&
            persona == info(merchant).persona_id) {
          settle(merchant);
          *value = kTaskContext;  // its own work, back to its own value
          *persist = true;
          return KERN_SUCCESS;
        }
        *value = account(holder, merchant, originator, proximate, persona);
        return KERN_SUCCESS;
      }
      return KERN_SUCCESS;

    case MACH_VOUCHER_ATTR_SEND_PREPROCESS:
      for (uint64_t v : prev) {
        if (v == 0) continue;
        const uint64_t merchant = context_of(who);
        const uint64_t elem = v == kTaskContext ? merchant : v;
        const uint64_t holder = is_task(elem) ? elem : accounts_.at(elem).holder;
        // No task here may pass a secure originator on: the sender is the
        // originator of what it sends, with its own persona.
        const uint64_t originator = merchant, proximate = merchant;
        const uint32_t persona = info(merchant).persona_id;
        if (holder == merchant) {
          tasks_.at(holder).made++;
          *value = holder;
          return KERN_SUCCESS;
        }
        *value = account(holder, merchant, originator, proximate, persona);
        return KERN_SUCCESS;
      }
      return KERN_SUCCESS;

    case MACH_VOUCHER_ATTR_REDEEM:
      for (uint64_t v : prev) {
        if (v == 0) continue;
        if (v == kTaskContext || (is_task(v) && tasks_.at(v).task == who.task)) {
          *value = kTaskContext;
          *persist = true;
          return KERN_SUCCESS;
        }
        if (is_task(v)) return KERN_INVALID_CAPABILITY;  // another task's value
        Account& a = accounts_.at(v);
        // Only the task the work was done by may adopt the account.
        if (tasks_.at(a.merchant).task != who.task) return KERN_INVALID_CAPABILITY;
        a.made++;
        *value = v;
        return KERN_SUCCESS;
      }
      return KERN_SUCCESS;

    default:
      return KERN_INVALID_ARGUMENT;
  }
}

const proc_persona_info* BankAttr::task_info_of(const ipc::VoucherCaller& who, uint64_t value,
                                                proc_persona_info* scratch, const Account** account) const {
  *account = nullptr;
  if (value == kTaskContext) {
    if (auto it = by_task_.find(who.task); it != by_task_.end()) return &info(it->second);
    *scratch = info_for(who);
    return scratch;
  }
  if (is_task(value)) return &info(value);
  *account = &accounts_.at(value);
  return &info((*account)->holder);
}

kern_return_t BankAttr::extract_content(const ipc::VoucherCaller& who, mach_voucher_attr_key_t,
                                        std::span<const uint64_t> values,
                                        mach_voucher_attr_recipe_command_t* command, uint8_t* out, uint32_t* size) {
  for (uint64_t v : values) {
    if (*size == 0) break;
    if (v == 0) continue;
    if (*size < MACH_VOUCHER_BANK_CONTENT_SIZE) {
      *size = 0;
      return KERN_NO_SPACE;
    }
    char text[MACH_VOUCHER_BANK_CONTENT_SIZE];
    proc_persona_info scratch;
    const Account* a = nullptr;
    const proc_persona_info* t = task_info_of(who, v, &scratch, &a);
    if (!a) {
      snprintf(text, sizeof text, "bank task: pid %d\n", t->pid);
    } else {
      snprintf(text, sizeof text,
               "bank account: holder pid %d, merchant pid %d, originator pid %d persona %u, proximate pid %d persona %u\n",
               info(a->holder).pid, info(a->merchant).pid, info(a->originator).pid, a->persona_id,
               info(a->proximate).pid, info(a->proximate).persona_id);
    }
    put_text(text, out, size);
    *command = MACH_VOUCHER_ATTR_BANK_NULL;
    return KERN_SUCCESS;
  }
  return KERN_SUCCESS;
}

kern_return_t BankAttr::command(const ipc::VoucherCaller& who, mach_voucher_attr_key_t,
                                std::span<const uint64_t> values, mach_voucher_attr_command_t command,
                                std::span<const uint8_t>, uint8_t* out, uint32_t* out_size) {
  // The size each query answers with; too small a buffer is KERN_NO_SPACE.
  uint32_t need = 0;
  switch (command) {
    case BANK_ORIGINATOR_PID:
    case BANK_PERSONA_ID: need = sizeof(int32_t); break;
    case BANK_PERSONA_TOKEN: need = sizeof(persona_token); break;
    case BANK_PERSONA_ADOPT_ANY: need = sizeof(boolean_t); break;
    case BANK_ORIGINATOR_PROXIMATE_PID: need = 2 * sizeof(int32_t); break;
    default: return KERN_INVALID_ARGUMENT;
  }
  if (*out_size < need) {
    *out_size = 0;
    return KERN_NO_SPACE;
  }
  if (command == BANK_PERSONA_ADOPT_ANY) {
    const boolean_t any = (info_for(who).flags & PROC_PERSONA_INFO_FLAG_ADOPTION_ALLOWED) != 0;
    put(any, out, out_size);
    return KERN_SUCCESS;
  }
  for (uint64_t v : values) {
    if (v == 0) continue;
    proc_persona_info scratch;
    const Account* a = nullptr;
    const proc_persona_info* t = task_info_of(who, v, &scratch, &a);
    switch (command) {
      case BANK_ORIGINATOR_PID:
        put(t->pid, out, out_size);  // an account's holder
        return KERN_SUCCESS;
      case BANK_PERSONA_ID:
        put(a ? a->persona_id : t->persona_id, out, out_size);
        return KERN_SUCCESS;
      case BANK_PERSONA_TOKEN: {
        if (!a) {
          *out_size = 0;
          return KERN_INVALID_OBJECT;  // a bank task is no account
        }
        persona_token token{info(a->originator), info(a->proximate)};
        put(token, out, out_size);
        return KERN_SUCCESS;
      }
      case BANK_ORIGINATOR_PROXIMATE_PID: {
        const int32_t pids[2] = {t->pid, a ? info(a->proximate).pid : -1};
        put(pids, out, out_size);
        return KERN_SUCCESS;
      }
      default:
        break;
    }
  }
  *out_size = 0;
  return KERN_INVALID_VALUE;  // no bank value
}

void BankAttr::release_value(mach_voucher_attr_key_t, uint64_t value, uint32_t made) {
  if (auto t = tasks_.find(value); t != tasks_.end()) {
    t->second.made = made >= t->second.made ? 0 : t->second.made - made;
    settle(value);
    return;
  }
  auto it = accounts_.find(value);
  if (it == accounts_.end()) return;
  Account& a = it->second;
  a.made = made >= a.made ? 0 : a.made - made;
  if (a.made != 0) return;
  const uint64_t roles[4] = {a.holder, a.merchant, a.originator, a.proximate};
  by_roles_.erase(AccountKey{a.holder, a.merchant, a.originator, a.proximate, a.persona_id});
  accounts_.erase(it);
  for (uint64_t r : roles) tasks_.at(r).accounts--;
  for (uint64_t r : roles) settle(r);
}

}  // namespace machd::kern
