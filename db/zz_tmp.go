package db

import badger "github.com/dgraph-io/badger/v4"

func (d *DB) BadgerTablesForTest() []badger.TableInfo { return d.bdb.Tables() }
