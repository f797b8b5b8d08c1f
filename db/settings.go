package db

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// keySettingPrefix starts the key of each database setting:
// !setting/name -> value.
const keySettingPrefix = "!setting/"

// Setting returns the value a database setting holds, "" when it holds
// none. Settings are kept in the store, so every later session and process
// that opens the database sees them.
func (d *DB) Setting(name string) (string, error) {
	var value string
	err := d.view(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keySettingPrefix + name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := item.ValueCopy(nil)
		value = string(b)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("db: setting %s: %w", name, err)
	}
	return value, nil
}

// SetSetting stores a database setting; an empty value removes it.
func (d *DB) SetSetting(name, value string) error {
	if name == "" {
		return fmt.Errorf("db: a setting needs a name: %w", ErrInvalid)
	}
	return d.update(func(txn *badger.Txn) (*datasetMeta, error) {
		key := []byte(keySettingPrefix + name)
		if value == "" {
			return nil, txn.Delete(key)
		}
		return nil, txn.Set(key, []byte(value))
	})
}
