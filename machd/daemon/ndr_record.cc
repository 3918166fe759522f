// machd/daemon/ndr_record.cc — the NDR record machd's own MIG-format replies
// carry (little-endian, ASCII, IEEE floats: what x86_64 clients send).
#include <mach/ndr.h>

extern "C" {
NDR_record_t NDR_record = {0, 0, 0, NDR_PROTOCOL_2_0, NDR_INT_LITTLE_ENDIAN, NDR_CHAR_ASCII, NDR_FLOAT_IEEE, 0};
}
